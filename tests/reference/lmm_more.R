# More lme4/lmerTest/pbkrtest references for tests/lmm_more.rs, beyond the shared set.
# Run from this folder:  Rscript lmm_more.R
# (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, nlme 3.1-162)
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(nlme); library(jsonlite)})
fx <- "../fixtures"

# 1. Three levels: sessions in clients in therapists, with a random slope of session by client.
set.seed(20241)
n_ther <- 12
sizes <- c(3, 5, 4, 6, 2, 5, 4, 3, 6, 4, 5, 3)
rows <- list(); cid <- 0
for (t in seq_len(n_ther)) {
  u_t <- rnorm(1, 0, 0.5)
  for (c in seq_len(sizes[t])) {
    cid <- cid + 1
    u0 <- rnorm(1, 0, 0.8); u1 <- rnorm(1, 0, 0.15)
    ns <- sample(4:8, 1)
    s <- 0:(ns - 1)
    alliance <- round(rnorm(ns, 4.5 + 0.1 * s, 0.7), 2)
    y <- 20 + u_t + u0 + (-0.6 + u1) * s + 0.4 * alliance + rnorm(ns, 0, 0.9)
    rows[[cid]] <- data.frame(therapist = sprintf("T%02d", t), client = sprintf("C%03d", cid),
                              session = s, alliance = alliance, symptoms = round(y, 3))
  }
}
three <- do.call(rbind, rows)
three$alliance[c(7, 40, 41)] <- NA     # missing values: these rows are dropped listwise
write.csv(three, file.path(fx, "threelevel.csv"), row.names = FALSE, na = "NA")

# 2. Real data with categorical fixed effects.
orth <- as.data.frame(Orthodont); orth$Subject <- as.character(orth$Subject); orth$Sex <- as.character(orth$Sex)
write.csv(orth, file.path(fx, "orthodont.csv"), row.names = FALSE)
mach <- as.data.frame(Machines); mach$Worker <- as.character(mach$Worker); mach$Machine <- as.character(mach$Machine)
write.csv(mach, file.path(fx, "machines.csv"), row.names = FALSE)

# 3. A singular fit: no therapist variance at all in the generating model.
# The first seed from 1 whose REML fit is on the boundary (lme4's isSingular).
for (seed in 1:100) {
  set.seed(seed)
  sing <- data.frame(g = rep(sprintf("g%d", 1:8), each = 6), x = round(rnorm(48), 3))
  sing$y <- round(1 + 0.5 * sing$x + rnorm(48), 3)
  if (isSingular(lmer(y ~ x + (1 | g), sing))) break
}
cat("singular data from seed", seed, "\n")
write.csv(sing, file.path(fx, "singular.csv"), row.names = FALSE)

back <- function(f) read.csv(file.path(fx, f), stringsAsFactors = TRUE)
nakagawa <- function(m) {
  # Nakagawa & Schielzeth (2013) with Johnson's (2014) random-slope term:
  # sum over terms of mean_i z_i' Sigma_k z_i.
  vf <- var(as.vector(model.matrix(m) %*% fixef(m)))
  vc <- VarCorr(m); rt <- getME(m, "mmList")
  vr <- sum(sapply(names(rt), function(nm) {
    g <- sub("^.*\\| ", "", nm); S <- vc[[g]]; Z <- rt[[nm]]
    mean(rowSums((Z %*% S) * Z))
  }))
  s2 <- sigma(m)^2
  c(marginal = vf / (vf + vr + s2), conditional = (vf + vr) / (vf + vr + s2))
}
fitref <- function(name, formula, data, REML = TRUE, contrast = NULL, kr = TRUE) {
  m <- lmerTest::lmer(formula, data = data, REML = REML, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10)))
  s <- summary(m); co <- s$coefficients
  re <- ranef(m, condVar = TRUE)
  cv <- lapply(re, function(d) { pv <- attr(d, "postVar"); lapply(seq_len(min(5, nrow(d))), function(i) pv[, , i, drop = TRUE]) })
  vc <- as.data.frame(VarCorr(m))
  out <- list(
    name = name, formula = deparse(formula), REML = REML, nobs = nobs(m),
    fixef = as.list(fixef(m)), se = as.list(setNames(co[, "Std. Error"], rownames(co))),
    t = as.list(setNames(co[, "t value"], rownames(co))),
    satterthwaite_df = as.list(setNames(co[, "df"], rownames(co))),
    p = as.list(setNames(co[, "Pr(>|t|)"], rownames(co))),
    kenward_roger_df = if (REML && kr) as.list(setNames(coef(summary(m, ddf = "Kenward-Roger"))[, "df"], rownames(co))) else NULL,
    theta = unname(getME(m, "theta")), sigma = sigma(m), varcorr = vc,
    deviance_or_reml = if (REML) unname(getME(m, "devcomp")$cmp["REML"]) else deviance(m),
    logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), singular = isSingular(m),
    ngroups = as.list(getME(m, "l_i")),
    ranef = lapply(re, function(d) as.list(d[seq_len(min(5, nrow(d))), , drop = FALSE])),
    ranef_levels = lapply(re, function(d) head(rownames(d), 5)),
    cond_var = cv,
    fitted_head = unname(head(fitted(m), 5)), resid_head = unname(head(resid(m), 5)),
    r2 = as.list(nakagawa(m)),
    icc = { v <- vc[is.na(vc$var2), ]; as.list(setNames(v$vcov[v$grp != "Residual"] / sum(v$vcov), v$grp[v$grp != "Residual"])) },
    dropped = if (is.null(attr(model.frame(m), "na.action"))) integer(0) else unname(as.integer(attr(model.frame(m), "na.action")))
  )
  if (!is.null(contrast)) {
    ct <- contest(m, matrix(contrast, nrow = 1), joint = FALSE)
    out$contrast <- list(L = contrast, estimate = ct$Estimate, se = ct$`Std. Error`, df = ct$df, t = ct$`t value`, p = ct$`Pr(>|t|)`)
  }
  write_json(out, sprintf("%s/lme4/%s_%s.json", fx, name, if (REML) "reml" else "ml"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
  m
}
three_b <- back("threelevel.csv"); orth_b <- back("orthodont.csv"); mach_b <- back("machines.csv"); sing_b <- back("singular.csv")
mach_b$Worker <- factor(mach_b$Worker)  # integer labels in the CSV; a factor, as the crate treats grouping columns
for (R in c(TRUE, FALSE)) {
  fitref("threelevel", symptoms ~ session + alliance + (session | client) + (1 | therapist), three_b, R, contrast = c(0, 1, 1))
  fitref("threelevel_nested", symptoms ~ session + (1 | therapist/client), three_b, R)
  fitref("orthodont", distance ~ age * Sex + (age | Subject), orth_b, R, contrast = c(0, 1, 0, 1))
  fitref("machines", score ~ Machine + (1 | Worker) + (1 | Worker:Machine), mach_b, R, contrast = c(0, 1, -1))
  fitref("singular", y ~ x + (1 | g), sing_b, R)
}
# Likelihood-ratio tests as anova() does them (refitting REML fits by ML).
m1 <- lmer(distance ~ age * Sex + (age | Subject), orth_b)
m0 <- lmer(distance ~ age + Sex + (age | Subject), orth_b)
a <- anova(m0, m1)
three_cc <- three_b[!is.na(three_b$alliance), ]  # anova() needs both models on the same rows
n1 <- lmer(symptoms ~ session + alliance + (session | client) + (1 | therapist), three_cc)
n0 <- lmer(symptoms ~ session + (session | client) + (1 | therapist), three_cc)
b <- anova(n0, n1)
lrt <- list(
  list(data = "orthodont", small = "distance ~ age + Sex + (age | Subject)", large = "distance ~ age * Sex + (age | Subject)",
       chisq = a$Chisq[2], df = a$Df[2], p = a$`Pr(>Chisq)`[2], deviance = a$deviance, npar = a$npar, aic = a$AIC),
  list(data = "threelevel", small = "symptoms ~ session + (session | client) + (1 | therapist)",
       large = "symptoms ~ session + alliance + (session | client) + (1 | therapist)",
       chisq = b$Chisq[2], df = b$Df[2], p = b$`Pr(>Chisq)`[2], deviance = b$deviance, npar = b$npar, aic = b$AIC)
)
write_json(lrt, file.path(fx, "lme4/anova_lrt.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
# Wald intervals as lme4 computes them (normal quantiles).
ss <- read.csv(file.path(fx, "sleepstudy.csv")); ss$Subject <- factor(ss$Subject)
mw <- lme4::lmer(Reaction ~ Days + (Days | Subject), ss)
ci <- confint(mw, method = "Wald", level = 0.9)
write_json(list(lower = unname(ci[c("(Intercept)", "Days"), 1]), upper = unname(ci[c("(Intercept)", "Days"), 2])),
           file.path(fx, "lme4/wald_sleepstudy.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
