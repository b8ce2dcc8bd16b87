# Reference values for probing GLMs and their average marginal effects
# (tests/glm_reference.rs), in closed form from glm()'s estimates and covariance:
#   Rscript tests/reference/glm_probe.R
library(jsonlite)
out <- "tests/fixtures/glm"
d <- mtcars
q <- qnorm(0.975)

# Simple slopes of mpg at wt = mean - SD, mean, mean + SD on the logit scale, and the
# Johnson-Neyman bounds: the wt where (b1 + b3 w)^2 = q^2 (v11 + 2 w v13 + w^2 v33).
fit <- glm(vs ~ mpg * wt, family = binomial, data = d)
b <- coef(fit); V <- vcov(fit)
at <- mean(d$wt) + c(-1, 0, 1) * sd(d$wt)
slope <- b["mpg"] + b["mpg:wt"] * at
se <- sqrt(V["mpg", "mpg"] + 2 * at * V["mpg", "mpg:wt"] + at^2 * V["mpg:wt", "mpg:wt"])
A <- b["mpg:wt"]^2 - q^2 * V["mpg:wt", "mpg:wt"]
B <- 2 * (b["mpg"] * b["mpg:wt"] - q^2 * V["mpg", "mpg:wt"])
C <- b["mpg"]^2 - q^2 * V["mpg", "mpg"]
disc <- B^2 - 4 * A * C
jn <- if (disc >= 0) sort(c((-B - sqrt(disc)) / (2 * A), (-B + sqrt(disc)) / (2 * A))) else NULL

# Average marginal effects on the probability scale, analytic derivatives (margins'
# definition: the mean of dmu/dx over the rows, x moved in every term it enters) and
# delta-method SEs with the analytic gradient.
ame <- function(fit, var, deta_dx, dgrad) {
  X <- model.matrix(fit); eta <- drop(X %*% coef(fit)); fam <- family(fit)
  mu_eta <- fam$mu.eta(eta)
  h <- 1e-6
  dmu_eta <- (fam$mu.eta(eta + h) - fam$mu.eta(eta - h)) / (2 * h)
  de <- deta_dx(coef(fit))
  effect <- mean(mu_eta * de)
  grad <- colMeans(dmu_eta * de * X + mu_eta * dgrad)
  se <- sqrt(drop(t(grad) %*% vcov(fit) %*% grad))
  list(variable = var, effect = effect, se = se)
}
main <- glm(vs ~ mpg + wt, family = binomial, data = d)
n <- nrow(d)
ame_main <- ame(main, "mpg", function(b) rep(b["mpg"], n),
                cbind(0, rep(1, n), 0))
ame_int <- ame(fit, "mpg", function(b) b["mpg"] + b["mpg:wt"] * d$wt,
               cbind(0, rep(1, n), 0, d$wt))
probit <- glm(vs ~ mpg + wt, family = binomial(link = "probit"), data = d)
ame_probit <- ame(probit, "wt", function(b) rep(b["wt"], n), cbind(0, 0, rep(1, n)))

res <- list(
  probe = list(formula = "vs ~ mpg * wt", at = at, slope = unname(slope), se = unname(se),
               jn = jn),
  ame = list(
    list(formula = "vs ~ mpg + wt", link = "logit", variable = "mpg",
         effect = ame_main$effect, se = ame_main$se),
    list(formula = "vs ~ mpg * wt", link = "logit", variable = "mpg",
         effect = ame_int$effect, se = ame_int$se),
    list(formula = "vs ~ mpg + wt", link = "probit", variable = "wt",
         effect = ame_probit$effect, se = ame_probit$se)))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "probe_ame.json"))
