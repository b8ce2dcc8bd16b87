# Reference values for the GLMM tests (tests/glmm_reference.rs): lme4::glmer, written to
# tests/fixtures/glmm/. Run from the repository root: Rscript tests/reference/glmm.R
library(lme4)
library(jsonlite)
out <- "tests/fixtures/glmm"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

cb <- cbpp
cb$rest <- cb$size - cb$incidence
cb$herd <- paste0("h", as.integer(as.character(cb$herd)))
cb$period <- paste0("p", cb$period)
write.csv(cb, file.path(out, "cbpp.csv"), row.names = FALSE)

# Simulated drop-out (SIMULATED DATA, not from any study): 40 therapists x 12 clients,
# logit P(dropout) = -1 + 0.6 anxiety + u0 + u1 anxiety, SD(u0) = 0.7, SD(u1) = 0.4.
set.seed(20261128)
nt <- 40; nc <- 12
th <- rep(sprintf("t%02d", 1:nt), each = nc)
anx <- rnorm(nt * nc)
u0 <- rnorm(nt, 0, 0.7)[as.integer(factor(th))]
u1 <- rnorm(nt, 0, 0.4)[as.integer(factor(th))]
eta <- -1 + 0.6 * anx + u0 + u1 * anx
drop <- rbinom(nt * nc, 1, plogis(eta))
dd <- data.frame(therapist = th, anxiety = round(anx, 4), dropout = drop)
write.csv(dd, file.path(out, "dropout.csv"), row.names = FALSE)

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
one <- function(name, file, formula, fit, nagq) {
  s <- summary(fit)$coefficients
  list(name = name, file = file, formula = formula, nagq = nagq,
       family = family(fit)$family, link = family(fit)$link,
       terms = rownames(s), estimate = unname(s[, 1]), se = unname(s[, 2]),
       theta = unname(getME(fit, "theta")),
       minus2loglik = -2 * as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit),
       singular = isSingular(fit),
       ranef_head = unname(head(ranef(fit)[[1]][, 1], 5)), tight = tight(fit))
}
cases <- list(
  one("cbpp_laplace", "cbpp.csv", "cbind(incidence, rest) ~ period + (1 | herd)",
      glmer(cbind(incidence, rest) ~ period + (1 | herd), family = binomial, data = cb), 1),
  one("cbpp_agq10", "cbpp.csv", "cbind(incidence, rest) ~ period + (1 | herd)",
      glmer(cbind(incidence, rest) ~ period + (1 | herd), family = binomial, data = cb,
            nAGQ = 10), 10),
  one("dropout_intercept", "dropout.csv", "dropout ~ anxiety + (1 | therapist)",
      glmer(dropout ~ anxiety + (1 | therapist), family = binomial, data = dd), 1),
  one("dropout_slope", "dropout.csv", "dropout ~ anxiety + (anxiety | therapist)",
      glmer(dropout ~ anxiety + (anxiety | therapist), family = binomial, data = dd), 1)
)
# The textbook Laplace approximation, written out independently of lme4 and minimized with
# optim: per level the mode u* of h(u) = -2 log p(y | u) + |u|^2 (BFGS with the analytic
# gradient, then Newton steps), then
# -2 log L = sum over levels of h(u*) + log det(I + sum_i W_i (T'z_i)(T'z_i)').
# lme4's own Laplace criterion is about 3e-6 relative higher at the same parameters (see
# tests/glmm_reference.rs); its nAGQ > 1 path agrees with this definition.
laplace_fit <- function(formula_fixed, zcols, group, resp, trials, data) {
  X <- model.matrix(formula_fixed, data)
  Z <- as.matrix(data[, zcols, drop = FALSE]); q <- ncol(Z)
  g <- data[[group]]; y <- resp; m <- trials
  nth <- q * (q + 1) / 2
  unpack <- function(th) { T <- matrix(0, q, q); T[lower.tri(T, diag = TRUE)] <- th; T }
  m2ll <- function(eta, i) -2 * sum(dbinom(y[i], m[i], plogis(eta), log = TRUE))
  lap <- function(par) {
    T <- unpack(par[1:nth]); b <- par[-(1:nth)]; tot <- 0
    for (h in unique(g)) {
      i <- g == h; ef <- drop(X[i, , drop = FALSE] %*% b); Zt <- Z[i, , drop = FALSE] %*% T
      hfun <- function(u) m2ll(ef + drop(Zt %*% u), i) + sum(u^2)
      hgrad <- function(u) {
        mu <- plogis(ef + drop(Zt %*% u))
        drop(-2 * t(Zt) %*% (y[i] - m[i] * mu)) + 2 * u
      }
      u <- optim(rep(0, q), hfun, hgrad, method = "BFGS",
                 control = list(reltol = 1e-15, maxit = 500))$par
      for (k in 1:3) {  # Newton polish of the mode
        mu <- plogis(ef + drop(Zt %*% u))
        Hm <- 2 * (diag(q) + t(Zt) %*% (Zt * (m[i] * mu * (1 - mu))))
        u <- u - solve(Hm, hgrad(u))
      }
      mu <- plogis(ef + drop(Zt %*% u))
      H <- diag(q) + t(Zt) %*% (Zt * (m[i] * mu * (1 - mu)))
      tot <- tot + hfun(u) + as.numeric(determinant(H)$modulus)
    }
    tot
  }
  lower <- c(ifelse(lower.tri(diag(q), diag = TRUE)[lower.tri(diag(q), diag = TRUE)] &
                    row(diag(q))[lower.tri(diag(q), diag = TRUE)] == col(diag(q))[lower.tri(diag(q), diag = TRUE)], 0, -Inf),
             rep(-Inf, ncol(X)))
  start <- c(diag(q)[lower.tri(diag(q), diag = TRUE)], coef(glm(cbind(y, m - y) ~ X - 1, family = binomial)))
  o <- optim(start, lap, method = "L-BFGS-B", lower = lower, control = list(factr = 1, pgtol = 0, maxit = 1000))
  # SEs as lme4's default vcov takes them: the beta block of 2 H^-1, H the Hessian of the
  # criterion over (theta, beta) (stats::optimHess, finite differences).
  H <- optimHess(o$par, lap, control = list(ndeps = rep(1e-4, length(o$par))))
  V <- 2 * solve(H)
  list(theta = o$par[1:nth], estimate = unname(o$par[-(1:nth)]), minus2loglik = o$value,
       se = unname(sqrt(diag(V))[-(1:nth)]))
}
cases[[1]]$textbook <- laplace_fit(~ period, "one", "herd", cb$incidence, cb$size,
                                   transform(cb, one = 1))
cases[[3]]$textbook <- laplace_fit(~ anxiety, "one", "therapist", dd$dropout, rep(1, nrow(dd)),
                                   transform(dd, one = 1))
cases[[4]]$textbook <- laplace_fit(~ anxiety, c("one", "anxiety"), "therapist", dd$dropout,
                                   rep(1, nrow(dd)), transform(dd, one = 1))
# For nAGQ > 1 lme4's logLik() leaves out the saturated log-likelihood; written here so the
# test can put it back.
cases[[2]]$saturated_loglik <- sum(dbinom(cb$incidence, cb$size, cb$incidence / cb$size, log = TRUE))
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "reference.json"))
cat(R.version.string, " lme4", format(packageVersion("lme4")), "\n")
