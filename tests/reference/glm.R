# Reference values for the GLM tests (tests/glm_reference.rs): stats::glm on four data sets,
# written to tests/fixtures/glm/. Run from the repository root:
#   Rscript tests/reference/glm.R
library(jsonlite)
library(MASS)
out <- "tests/fixtures/glm"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

mtcars_df <- mtcars
write.csv(mtcars_df, file.path(out, "mtcars.csv"), row.names = FALSE)
# Levels renamed (g1 = <1l … g4 = >2l; a1 = <25 … a4 = >35) so that their order is the same in
# every collation.
ins <- data.frame(District = factor(paste0("d", Insurance$District)),
                  Group = factor(paste0("g", as.integer(Insurance$Group))),
                  Age = factor(paste0("a", as.integer(Insurance$Age))),
                  Holders = Insurance$Holders, Claims = Insurance$Claims)
write.csv(ins, file.path(out, "insurance.csv"), row.names = FALSE)
men <- menarche
men$Rest <- men$Total - men$Menarche
write.csv(men, file.path(out, "menarche.csv"), row.names = FALSE)

# Profile-likelihood intervals, exactly: the root of the signed root deviance
# z(b) = sign(b - b_hat) sqrt(D_j(b) - D_hat) = -/+ qnorm(0.975), with D_j(b) the deviance refitted
# with coefficient j fixed at b (its column moved into the offset). Walking out from b_hat in
# steps of SE/4, each refit started from the previous one's coefficients (far from b_hat a cold
# start can fail), until |z| passes the quantile; then uniroot in the last step to 1e-13.
# (MASS's confint.glm interpolates a spline through a coarser grid of such points; its values
# are written too, as `profile_ci_mass`.)
prof_ci <- function(fit, level = 0.95) {
  X <- model.matrix(fit); y <- fit$y; w <- fit$prior.weights
  off <- if (is.null(fit$offset)) rep(0, length(y)) else fit$offset
  ctl <- glm.control(epsilon = 1e-13, maxit = 200)
  full <- glm.fit(X, y, weights = w, offset = off, family = fit$family, control = ctl)
  D0 <- full$deviance; b <- full$coefficients
  q <- qnorm(0.5 + level / 2); se <- sqrt(diag(vcov(fit)))
  t(sapply(seq_along(b), function(j) {
    Xr <- X[, -j, drop = FALSE]
    refit <- function(v, start) {
      o <- off + X[, j] * v
      if (ncol(Xr) == 0) return(list(dev = sum(fit$family$dev.resids(y, fit$family$linkinv(o), w)), coef = NULL))
      f <- glm.fit(Xr, y, weights = w, offset = o, family = fit$family, control = ctl, start = start)
      list(dev = f$deviance, coef = f$coefficients)
    }
    sapply(c(-1, 1), function(dir) {
      start <- b[-j]; v0 <- b[j]
      repeat {
        v1 <- v0 + dir * se[j] / 4
        r1 <- refit(v1, start)
        if (sqrt(max(r1$dev - D0, 0)) >= q) break
        v0 <- v1; start <- r1$coef
      }
      s0 <- start
      uniroot(function(v) sqrt(max(refit(v, s0)$dev - D0, 0)) - q,
              sort(c(v0, v1)), tol = 1e-13)$root
    })
  }))
}

one <- function(name, file, formula, fit) {
  s <- summary(fit)$coefficients
  list(name = name, file = file, formula = formula,
       family = family(fit)$family, link = family(fit)$link,
       terms = rownames(s), estimate = unname(s[, 1]), se = unname(s[, 2]),
       z = unname(s[, 3]), p = unname(s[, 4]),
       wald_ci = unname(confint.default(fit)),
       profile_ci = unname(prof_ci(fit)),
       profile_ci_mass = unname(suppressMessages(confint(fit))),
       deviance = deviance(fit), null_deviance = fit$null.deviance,
       df_residual = fit$df.residual, df_null = fit$df.null,
       aic = AIC(fit), bic = BIC(fit), loglik = as.numeric(logLik(fit)),
       iterations = fit$iter, fitted_head = unname(head(fitted(fit), 6)),
       linear_predictor_head = unname(head(fit$linear.predictors, 6)),
       deviance_residuals_head = unname(head(residuals(fit, type = "deviance"), 6)))
}
cases <- list(
  one("logit", "mtcars.csv", "am ~ wt + hp",
      glm(am ~ wt + hp, family = binomial, data = mtcars_df)),
  one("probit", "mtcars.csv", "vs ~ mpg + wt",
      glm(vs ~ mpg + wt, family = binomial(link = "probit"), data = mtcars_df)),
  one("cloglog", "mtcars.csv", "vs ~ mpg",
      glm(vs ~ mpg, family = binomial(link = "cloglog"), data = mtcars_df)),
  one("poisson_offset", "insurance.csv", "Claims ~ District + Group + Age + offset(log(Holders))",
      glm(Claims ~ District + Group + Age + offset(log(Holders)), family = poisson, data = ins)),
  one("poisson", "insurance.csv", "Claims ~ District + Age",
      glm(Claims ~ District + Age, family = poisson, data = ins)),
  one("binomial_trials", "menarche.csv", "cbind(Menarche, Rest) ~ Age",
      glm(cbind(Menarche, Rest) ~ Age, family = binomial, data = men))
)
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "reference.json"))
cat(R.version.string, "\n")
