# Reference values for GLMMs with more than one grouping factor (tests/glmm_reference.rs):
# a Poisson model with crossed random intercepts and an offset, and a Bernoulli model with
# nested random intercepts. Writes tests/fixtures/glmm/{crossed.csv, nested.csv, multi.json}.
# Run from the repository root: Rscript tests/reference/glmm_multi.R
#
# SIMULATED DATA, not from any study.
library(lme4)
library(jsonlite)
out <- "tests/fixtures/glmm"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

# Missed sessions: 600 client records, each seen by one of 30 therapists at one of 8 sites
# (therapists work at several sites: crossed), with booked sessions as the exposure.
# log E(missed) = log(booked) - 2 + 0.3 anxiety + a_therapist + b_site, SD(a) = 0.5, SD(b) = 0.3.
set.seed(20261129)
n <- 600
th <- sprintf("t%02d", sample(1:30, n, replace = TRUE))
site <- sprintf("s%d", sample(1:8, n, replace = TRUE))
anx <- round(rnorm(n), 4)
booked <- sample(5:20, n, replace = TRUE)
a <- rnorm(30, 0, 0.5)[as.integer(factor(th, levels = sprintf("t%02d", 1:30)))]
b <- rnorm(8, 0, 0.3)[as.integer(factor(site, levels = sprintf("s%d", 1:8)))]
missed <- rpois(n, booked * exp(-2 + 0.3 * anx + a + b))
cr <- data.frame(therapist = th, site = site, anxiety = anx, booked = booked, missed = missed)
write.csv(cr, file.path(out, "crossed.csv"), row.names = FALSE)

# Drop-out: 12 sites, 4 therapists within each site (therapist labels repeat across sites,
# so nesting must come from the formula), 10 clients per therapist.
# logit P(dropout) = -0.8 + 0.5 anxiety + s_site + t_site:therapist, SD(s) = 0.5, SD(t) = 0.6.
set.seed(20261130)
ns <- 12; nt <- 4; nc <- 10
site2 <- rep(sprintf("site%02d", 1:ns), each = nt * nc)
ther2 <- rep(rep(sprintf("th%d", 1:nt), each = nc), ns)
anx2 <- round(rnorm(ns * nt * nc), 4)
s_eff <- rnorm(ns, 0, 0.5)[rep(1:ns, each = nt * nc)]
t_eff <- rnorm(ns * nt, 0, 0.6)[rep(1:(ns * nt), each = nc)]
drop2 <- rbinom(ns * nt * nc, 1, plogis(-0.8 + 0.5 * anx2 + s_eff + t_eff))
ne <- data.frame(site = site2, therapist = ther2, anxiety = anx2, dropout = drop2)
# A moderator for probing (unrelated to drop-out by construction; its own seed so the columns
# above are unchanged).
set.seed(20261131)
ne$esat <- round(rnorm(nrow(ne)), 4)
write.csv(ne, file.path(out, "nested.csv"), row.names = FALSE)

# The textbook Laplace approximation for scalar random intercepts of several grouping factors,
# written out independently of lme4: u ~ N(0, I), b = Lambda u with Lambda diagonal (theta_k
# for the levels of factor k); the mode of h(u) = -2 log p(y | u) + |u|^2 by Newton steps with
# step halving; -2 log L = h(u*) + log det(I + Lambda' Z' W Z Lambda). Minimized over
# (theta, beta) with L-BFGS-B; SEs from the beta block of 2 H^-1 (optimHess, step 1e-4).
laplace_multi <- function(X, groups, y, trials, offset, family) {
  Z <- do.call(cbind, lapply(groups, function(g) model.matrix(~ 0 + factor(g))))
  nl <- sapply(groups, function(g) length(unique(g)))
  k <- length(groups); p <- ncol(X)
  m2ll <- function(eta) {
    if (family == "binomial") -2 * sum(dbinom(y, trials, plogis(eta), log = TRUE))
    else -2 * sum(dpois(y, exp(eta), log = TRUE))
  }
  u_cur <- rep(0, ncol(Z))
  lap <- function(par) {
    lam <- rep(par[1:k], nl); beta <- par[-(1:k)]
    ZL <- sweep(Z, 2, lam, "*")
    ef <- drop(X %*% beta) + offset
    u <- u_cur
    hfun <- function(u) m2ll(ef + drop(ZL %*% u)) + sum(u^2)
    for (it in 1:200) {
      eta <- ef + drop(ZL %*% u)
      mu <- if (family == "binomial") trials * plogis(eta) else exp(eta)
      w <- if (family == "binomial") mu * (1 - plogis(eta)) else mu
      g <- drop(crossprod(ZL, y - mu)) - u
      H <- diag(ncol(Z)) + crossprod(ZL, ZL * w)
      step <- solve(H, g)
      h0 <- hfun(u); s <- 1
      while (hfun(u + s * step) > h0 && s > 1e-10) s <- s / 2
      u <- u + s * step
      if (max(abs(s * step)) < 1e-12) break
    }
    u_cur <<- u
    eta <- ef + drop(ZL %*% u)
    mu <- if (family == "binomial") trials * plogis(eta) else exp(eta)
    w <- if (family == "binomial") mu * (1 - plogis(eta)) else mu
    H <- diag(ncol(Z)) + crossprod(ZL, ZL * w)
    hfun(u) + as.numeric(determinant(H)$modulus)
  }
  fam <- if (family == "binomial") binomial() else poisson()
  start <- c(rep(1, k), coef(glm.fit(X, if (family == "binomial") cbind(y, trials - y) else y,
                                     family = fam, offset = offset)))
  o <- optim(start, lap, method = "L-BFGS-B", lower = c(rep(0, k), rep(-Inf, p)),
             control = list(factr = 1, pgtol = 0, maxit = 2000))
  o <- optim(o$par, lap, method = "L-BFGS-B", lower = c(rep(0, k), rep(-Inf, p)),
             control = list(factr = 1, pgtol = 0, maxit = 2000))
  H <- optimHess(o$par, lap, control = list(ndeps = rep(1e-4, length(o$par))))
  V <- 2 * solve(H)
  list(theta = o$par[1:k], estimate = unname(o$par[-(1:k)]), minus2loglik = o$value,
       se = unname(sqrt(diag(V))[-(1:k)]))
}

# lme4's PIRLS stops at a relative change of tolPwrss = 1e-7 in the penalized deviance by
# default, which leaves its Laplace criterion ~1e-6 relative above the exact one (the
# conditional modes are not fully converged). Refitted with tolPwrss = 1e-12, lme4 equals the
# textbook definition; both fits are recorded. lme4 has two covariance estimates for beta: the
# finite-difference Hessian of the criterion (its default) and the one from the PIRLS weights
# (use.hessian = FALSE); both are recorded.
tight <- function(fit) {
  f2 <- update(fit, control = glmerControl(tolPwrss = 1e-12))
  s <- summary(f2)$coefficients
  list(estimate = unname(s[, 1]), se = unname(s[, 2]), theta = unname(getME(f2, "theta")),
       se_rx = unname(sqrt(diag(suppressWarnings(vcov(f2, use.hessian = FALSE))))),
       minus2loglik = -2 * as.numeric(logLik(f2)))
}
one <- function(name, file, formula, fit, textbook, groups) {
  s <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  list(name = name, file = file, formula = formula,
       family = family(fit)$family, link = family(fit)$link,
       terms = rownames(s), estimate = unname(s[, 1]), se = unname(s[, 2]),
       groups = vc$grp, sd = vc$sdcor,
       minus2loglik = -2 * as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit),
       singular = isSingular(fit), ngroups = as.list(ngrps(fit)),
       textbook = textbook, textbook_groups = groups, tight = tight(fit))
}

f_cr <- glmer(missed ~ anxiety + offset(log(booked)) + (1 | therapist) + (1 | site),
              family = poisson, data = cr)
f_cr0 <- glmer(missed ~ offset(log(booked)) + (1 | therapist) + (1 | site),
               family = poisson, data = cr)
f_ne <- glmer(dropout ~ anxiety + (1 | site/therapist), family = binomial, data = ne)
f_ne0 <- glmer(dropout ~ anxiety + (1 | site), family = binomial, data = ne)

tb_cr <- laplace_multi(cbind(1, cr$anxiety), list(cr$therapist, cr$site), cr$missed, NULL,
                       log(cr$booked), "poisson")
tb_ne <- laplace_multi(cbind(1, ne$anxiety), list(paste(ne$site, ne$therapist, sep = ":"), ne$site),
                       ne$dropout, rep(1, nrow(ne)), rep(0, nrow(ne)), "binomial")

conv <- function(fit) update(fit, control = glmerControl(tolPwrss = 1e-12))
lrt <- function(a, b) {
  t <- anova(a, b)
  list(npar = unname(t$npar), deviance = unname(t$deviance), chisq = unname(t$Chisq[2]),
       df = unname(t$Df[2]), p = unname(t[["Pr(>Chisq)"]][2]), aic = unname(t$AIC))
}

# A GLM likelihood-ratio (analysis of deviance) table, anova(m0, m1, test = "Chisq").
g0 <- glm(dropout ~ anxiety, family = binomial, data = ne)
g1 <- glm(dropout ~ anxiety + I(anxiety^2), family = binomial, data = ne)
ga <- anova(g0, g1, test = "Chisq")
glm_lrt <- list(small = "dropout ~ anxiety", large = "dropout ~ anxiety + I(anxiety^2)",
                file = "nested.csv", resid_dev = unname(ga[["Resid. Dev"]]),
                deviance = unname(ga$Deviance[2]), df = unname(ga$Df[2]),
                p = unname(ga[["Pr(>Chi)"]][2]), aic = c(AIC(g0), AIC(g1)))

# Probing a GLMM on the link scale: simple slopes of anxiety at the mean and mean +- 1 SD of
# esat, with lme4's (Hessian) covariance of the converged fit.
f_pr <- glmer(dropout ~ anxiety * esat + (1 | site/therapist), family = binomial, data = ne,
              control = glmerControl(tolPwrss = 1e-12))
b <- fixef(f_pr); V <- as.matrix(vcov(f_pr))
at <- mean(ne$esat) + c(-1, 0, 1) * sd(ne$esat)
slope <- b[["anxiety"]] + at * b[["anxiety:esat"]]
se <- sqrt(V["anxiety", "anxiety"] + at^2 * V["anxiety:esat", "anxiety:esat"] +
           2 * at * V["anxiety", "anxiety:esat"])
glmm_probe <- list(formula = "dropout ~ anxiety * esat + (1 | site/therapist)",
                   at = at, slope = slope, se = se)

res <- list(glm_lrt = glm_lrt, glmm_probe = glmm_probe,
  cases = list(
    one("crossed_poisson", "crossed.csv",
        "missed ~ anxiety + offset(log(booked)) + (1 | therapist) + (1 | site)", f_cr, tb_cr,
        c("therapist", "site")),
    one("nested_binomial", "nested.csv", "dropout ~ anxiety + (1 | site/therapist)", f_ne, tb_ne,
        c("therapist:site", "site"))
  ),
  lrt = list(
    list(name = "crossed_anxiety",
         small = "missed ~ offset(log(booked)) + (1 | therapist) + (1 | site)",
         large = "missed ~ anxiety + offset(log(booked)) + (1 | therapist) + (1 | site)",
         file = "crossed.csv", family = "poisson", anova = lrt(f_cr0, f_cr),
         anova_tight = lrt(conv(f_cr0), conv(f_cr))),
    list(name = "nested_therapist", small = "dropout ~ anxiety + (1 | site)",
         large = "dropout ~ anxiety + (1 | site/therapist)", file = "nested.csv",
         family = "binomial", anova = lrt(f_ne0, f_ne),
         anova_tight = lrt(conv(f_ne0), conv(f_ne)))
  )
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "multi.json"))
cat(R.version.string, " lme4", format(packageVersion("lme4")), "\n")
