# The session-level study's analysis in R on the embedded cohort, for tests/study.rs: every
# step of the reference plan (src/study/reference_plan.json) written out from its definition.
# Run from this folder:  Rscript study_sessions.R
#   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, psych 2.2.9, performance 0.10.2, jsonlite)
# Scores: mean of answered items after reversing (max + min - x), missing when fewer than
# ceiling(proportion * k) items were answered - the rule written in the key files.
suppressPackageStartupMessages({library(lmerTest); library(psych); library(performance); library(jsonlite)})
d <- read.csv("../../data/study_sessions.csv", stringsAsFactors = TRUE)
keys <- c("example-ecr", "example-cats", "example-tds", "example-iip_pre", "example-iip_post")
level <- c("client", "session", "session", "client", "client")
colname <- function(ki, sub) switch(ki, paste0("ecr_", sub), paste0("cats_", sub), sub, "iip_pre", "iip_post")
first <- !duplicated(d$client)
alpha_of <- function(x) alpha(na.omit(x), check.keys = FALSE, warnings = FALSE)$total$raw_alpha
rel <- list(); occ <- list()
for (ki in 1:5) {
  k <- fromJSON(file.path("../../data/example_keys", paste0(keys[ki], ".json")), simplifyVector = FALSE)
  for (s in k$subscales) {
    items <- unlist(s$items); rev <- unlist(s$reverse)
    x <- d[, items]
    for (r in rev) x[, r] <- k$response_max + k$response_min - x[, r]
    need <- ceiling(s$min_answered$proportion * length(items) - 1e-9)
    sc <- rowMeans(x, na.rm = TRUE); sc[rowSums(!is.na(x)) < need] <- NA
    nm <- colname(ki, s$name); d[[nm]] <- sc
    if (level[ki] == "client") {
      rel[[nm]] <- alpha_of(x[first, ])
    } else {
      rel[[nm]] <- alpha_of(x)
      per <- list()
      for (sn in sort(unique(d$session))) {
        xs <- x[d$session == sn, ]
        if (nrow(xs) >= 20 && sum(complete.cases(xs)) >= 20) per[[as.character(sn)]] <- alpha_of(xs)
      }
      occ[[nm]] <- per
    }
  }
}
d$iip_change <- d$iip_post - d$iip_pre
# ESAT, pooled: the z-scored residual of Secure on the control over all session rows.
pooled <- function(ctrl) { e <- lm(d$cats_secure ~ d[[ctrl]], na.action = na.exclude)
  list(z = as.vector(scale(resid(e))), coef = unname(coef(e)), r2 = summary(e)$r.squared) }
# Within-client: both centred at the client's mean first, no intercept.
within <- function(ctrl) { ok <- complete.cases(d$cats_secure, d[[ctrl]])
  cs <- d$cats_secure - ave(ifelse(ok, d$cats_secure, NA), d$client, FUN = function(v) mean(v, na.rm = TRUE))
  cc <- d[[ctrl]] - ave(ifelse(ok, d[[ctrl]], NA), d$client, FUN = function(v) mean(v, na.rm = TRUE))
  e <- lm(cs ~ 0 + cc, na.action = na.exclude)
  list(z = as.vector(scale(resid(e))), coef = unname(coef(e)), r2 = summary(e)$r.squared) }
ea <- pooled("cats_preocc"); ev <- pooled("cats_avoidfear")
ewa <- within("cats_preocc"); ewv <- within("cats_avoidfear")
d$esat_anx <- ea$z; d$esat_avoid <- ev$z
cors <- list(preocc = cor(d$cats_secure, d$cats_preocc, use = "complete.obs"),
             avoidfear = cor(d$cats_secure, d$cats_avoidfear, use = "complete.obs"))
for (v in c("esat_anx", "esat_avoid", "engagement")) {
  cm <- ave(d[[v]], d$client, FUN = function(x) mean(x, na.rm = TRUE))
  d[[paste0(v, "_cm")]] <- cm; d[[paste0(v, "_wc")]] <- d[[v]] - cm
}
cl <- d[first, ]
# lme4 warns of non-convergence on the growth models (max|grad| up to 0.02): restart from the
# previous optimum until it stops warning (lme4's own advice), at most three times.
fit <- function(f, data) {
  m <- lmer(as.formula(f), data, REML = TRUE)
  for (i in 1:3) {
    if (is.null(m@optinfo$conv$lme4$messages)) break
    m <- update(m, start = getME(m, "theta"))
  }
  m
}
model <- function(f, data) {
  m <- fit(f, data); co <- summary(m)$coefficients; ic <- icc(m)
  icg <- suppressWarnings(icc(m, by_group = TRUE))
  list(formula = f, nobs = nobs(m), reml = REMLcrit(m), sigma = sigma(m), theta = unname(getME(m, "theta")),
       terms = rownames(co), estimate = unname(co[, 1]), se = unname(co[, 2]), df = unname(co[, 3]),
       icc = list(adjusted = ic$ICC_adjusted, conditional = ic$ICC_unadjusted,
                  group = as.list(setNames(icg$ICC, icg$Group))),
       unconditional = empty_icc(m, data))
}
# The unconditional ICCs: the empty model (random intercepts of the model's grouping factors)
# on the rows the model used.
empty_icc <- function(m, data) {
  used <- data[rownames(model.frame(m)), ]
  groups <- unique(names(ranef(m)))
  f <- paste(all.vars(formula(m))[1], "~ 1 +", paste0("(1 | ", groups, ")", collapse = " + "))
  e <- lmer(as.formula(f), used, REML = TRUE)
  g <- suppressWarnings(icc(e, by_group = TRUE))
  list(formula = f, adjusted = icc(e)$ICC_adjusted, group = as.list(setNames(g$ICC, g$Group)))
}
plan <- fromJSON("../../src/study/reference_plan.json", simplifyVector = FALSE)
fits <- list(); models <- list()
for (m in plan$models) {
  data <- if (!is.null(m$level) && m$level == "client") cl else d
  fits[[m$name]] <- fit(m$formula, data)
  message(m$name, ": ", paste(fits[[m$name]]@optinfo$conv$lme4$messages, collapse = "; "))
  models[[m$name]] <- model(m$formula, data)
}
# The probe: ESAT_anx's client-mean slope along anxiety, the moderator over the clients used.
mm <- fits[["moderation"]]
used <- d[complete.cases(d[, c("autonomy", "session", "esat_anx_wc", "ecr_anx", "esat_anx_cm", "client", "therapist")]), ]
anx <- used$ecr_anx[!duplicated(used$client)]
b <- fixef(mm)
L <- function(w) { l <- setNames(rep(0, length(b)), names(b)); l["esat_anx_cm"] <- 1; l["ecr_anx:esat_anx_cm"] <- w; l }
slope <- function(w) { ct <- contest(mm, L(w), joint = FALSE); list(at = w, slope = ct$Estimate, se = ct[["Std. Error"]], df = ct$df, p = ct[["Pr(>|t|)"]]) }
probe <- list(n_clients = length(anx), slopes = lapply(c(mean(anx) - sd(anx), mean(anx), mean(anx) + sd(anx)), slope))
# Mediation paths with the within/between split over each design's complete rows.
split <- function(u, v) { cm <- ave(u[[v]], u$client); u[[paste0(v, "_within")]] <- u[[v]] - cm
  u[[paste0(v, "_between")]] <- cm - mean(u[[v]]); u }
fe <- function(m, t) unname(fixef(m)[t])
u <- split(d[complete.cases(d[, c("ecr_anx", "esat_anx", "autonomy")]), ], "esat_anx")
fa <- lmer(esat_anx ~ ecr_anx + (1 | therapist) + (1 | client), u)
fb <- lmer(autonomy ~ esat_anx_within + esat_anx_between + ecr_anx + (1 | therapist) + (1 | client), u)
med1 <- list(nobs = nrow(u), a = fe(fa, "ecr_anx"), b_within = fe(fb, "esat_anx_within"),
             b_between = fe(fb, "esat_anx_between"), c_prime = fe(fb, "ecr_anx"),
             indirect_between = fe(fa, "ecr_anx") * fe(fb, "esat_anx_between"))
u <- split(split(d[complete.cases(d[, c("ecr_anx", "esat_anx", "engagement", "iip_change")]), ], "esat_anx"), "engagement")
f1 <- lmer(esat_anx ~ ecr_anx + (1 | therapist) + (1 | client), u)
f2 <- lmer(engagement ~ esat_anx_within + esat_anx_between + ecr_anx + (1 | therapist) + (1 | client), u)
uc <- u[!duplicated(u$client), ]
fy <- lmer(iip_change ~ esat_anx_between + engagement_between + ecr_anx + (1 | therapist), uc)
a1 <- fe(f1, "ecr_anx"); a2 <- fe(f2, "ecr_anx"); d21 <- fe(f2, "esat_anx_between")
b1 <- fe(fy, "esat_anx_between"); b2 <- fe(fy, "engagement_between")
med2 <- list(nobs = nrow(u), n_clients = nrow(uc), a1 = a1, a2 = a2, d21_within = fe(f2, "esat_anx_within"),
             d21_between = d21, b1_between = b1, b2_between = b2, c_prime = fe(fy, "ecr_anx"),
             ind1_between = a1 * b1, ind2_between = a2 * b2, ind12_between = a1 * d21 * b2,
             total_indirect_between = a1 * b1 + a2 * b2 + a1 * d21 * b2)
# Two levels or three: the autonomy growth model without its therapist term (ML refits).
two <- fit("autonomy ~ session + esat_avoid_wc + esat_avoid_cm + ecr_anx + ecr_avoid + (1 + session | client)", d)
three <- fit(plan$models[[2]]$formula, d)
a <- suppressMessages(anova(two, three))
lrt <- list(chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>Chisq)"]][2], aic = a$AIC, loglik = a$logLik)

out <- list(sessions = nrow(d), clients = sum(first), alpha = rel, alpha_by_session = occ,
            esat = list(anx = list(coef = ea$coef, r2 = ea$r2), avoid = list(coef = ev$coef, r2 = ev$r2),
                        anx_within = list(coef = ewa$coef, r2 = ewa$r2), avoid_within = list(coef = ewv$coef, r2 = ewv$r2)),
            correlations = cors, models = models, probe = probe, mediation = med1, chain = med2, lrt = lrt)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "../fixtures/study_sessions_reference.json")
