# Reference values for profile-likelihood intervals (tests/lmm_profile.rs): lme4's
# confint(method = "profile"), written to tests/fixtures/profile/reference.json.
# Run from the repository root: Rscript tests/reference/profile.R
#
# lme4 profiles the ML deviance even for a REML fit (the intervals of a REML fit and of its ML
# refit agree to ~1e-8 here), on the scale of standard deviations, correlations and σ, and
# inverts the signed root ζ by splines through a grid of profile points. Models are fitted to
# convergence; the timing of confint() on this machine is recorded for the benchmark notes.
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
fx <- "tests/fixtures"
out <- file.path(fx, "profile")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_rel = 1e-14, ftol_rel = 1e-15, ftol_abs = 1e-15,
                                    xtol_abs = 1e-14, maxeval = 1e5))
num <- function(x) unname(as.numeric(x))
one <- function(m, level = 0.95) {
  secs <- system.time(ci <- confint(m, method = "profile", level = level))[["elapsed"]]
  mm <- refitML(m)
  list(names = rownames(ci), lower = num(ci[, 1]), upper = num(ci[, 2]),
       theta = num(getME(m, "theta")), ml_theta = num(getME(mm, "theta")),
       ml_deviance = deviance(mm), ml_sigma = sigma(mm), ml_beta = num(fixef(mm)),
       level = level, seconds = secs)
}
# The exact roots of ζ = ±z, to check the spline interpolation against: ζ from lme4's own
# devfun2 (the ML deviance on the SD/correlation/σ scale), the other parameters minimized by
# BOBYQA then L-BFGS-B to 1e-13; a fixed effect's ζ from ML refits with it moved into an offset.
exact <- function(m, cors = integer(0), level = 0.95) {
  mm <- refitML(m)
  dd <- lme4:::devfun2(mm, useSc = TRUE, signames = TRUE)
  opt <- attr(dd, "optimum")
  nv <- length(opt) - length(fixef(mm))
  ov <- opt[1:nv]
  d0 <- dd(ov)
  ci0 <- confint(m, method = "profile", level = level)
  lo_b <- ifelse(seq_len(nv) %in% cors, -1, 0)
  hi_b <- ifelse(seq_len(nv) %in% cors, 1, Inf)
  z <- qnorm(0.5 + level / 2)
  zeta_v <- function(i, v) {
    f <- function(x) { p <- ov; p[i] <- v; p[-i] <- x; dd(p) }
    lo <- lo_b[-i]; hi <- hi_b[-i]
    o <- nloptr::nloptr(ov[-i], f, lb = lo, ub = hi,
                        opts = list(algorithm = "NLOPT_LN_BOBYQA", xtol_rel = 1e-13,
                                    ftol_abs = 1e-14, maxeval = 1e5))
    o2 <- optim(o$solution, f, method = "L-BFGS-B", lower = lo, upper = hi,
                control = list(factr = 1, pgtol = 0))
    sign(v - ov[i]) * sqrt(max(min(o$objective, o2$value) - d0, 0))
  }
  X <- getME(mm, "X"); y <- getME(mm, "y")
  re <- paste0("(", sapply(findbars(formula(mm)), deparse), ")", collapse = " + ")
  fr <- model.frame(mm)
  zeta_b <- function(j, b) {
    d <- fr; d$yy <- y - b * X[, j]
    Xr <- X[, -j, drop = FALSE]
    for (k in seq_len(ncol(Xr))) d[[paste0("x", k)]] <- Xr[, k]
    f <- as.formula(paste("yy ~ 0 +", paste(paste0("x", seq_len(ncol(X) - 1)), collapse = " + "),
                          "+", re))
    r <- lmer(f, d, REML = FALSE, control = tight)
    sign(b - fixef(mm)[j]) * sqrt(max(deviance(r) - deviance(mm), 0))
  }
  root <- function(g, a, b) uniroot(g, c(a, b), tol = 1e-13)$root
  lower <- upper <- numeric(nrow(ci0))
  for (i in seq_len(nv)) {
    w <- ci0[i, 2] - ci0[i, 1]
    lower[i] <- root(function(v) zeta_v(i, v) + z, max(ci0[i, 1] - 0.01 * w, lo_b[i]), ci0[i, 1] + 0.01 * w)
    upper[i] <- root(function(v) zeta_v(i, v) - z, ci0[i, 2] - 0.01 * w, min(ci0[i, 2] + 0.01 * w, hi_b[i]))
  }
  for (j in seq_len(ncol(X))) {
    i <- nv + j; w <- ci0[i, 2] - ci0[i, 1]
    lower[i] <- root(function(b) zeta_b(j, b) + z, ci0[i, 1] - 0.01 * w, ci0[i, 1] + 0.01 * w)
    upper[i] <- root(function(b) zeta_b(j, b) - z, ci0[i, 2] - 0.01 * w, ci0[i, 2] + 0.01 * w)
  }
  list(lower = lower, upper = upper)
}

res <- list()
ss <- read.csv(file.path(fx, "sleepstudy.csv")); ss$Subject <- factor(ss$Subject)
res$sleep <- one(lmer(Reaction ~ Days + (Days | Subject), ss, control = tight))
res$sleep_ml <- one(lmer(Reaction ~ Days + (Days | Subject), ss, REML = FALSE, control = tight))
res$sleep_exact <- exact(lmer(Reaction ~ Days + (Days | Subject), ss, REML = FALSE, control = tight),
                         cors = 2)
res$sleep_90 <- one(lmer(Reaction ~ Days + (1 | Subject), ss, control = tight), level = 0.9)
trial <- read.csv(file.path(fx, "emmeans/trial.csv"))
m_trial <- lmer(y ~ condition + phase + baseline + (1 | therapist) + (1 | client), trial,
                control = tight)
res$trial <- one(m_trial)
res$trial_exact <- exact(m_trial)
write_json(res, file.path(out, "reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out, "reference.json"), "\n")
