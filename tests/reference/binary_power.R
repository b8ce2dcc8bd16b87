# Reference values for the binary-outcome power simulation (tests/power.rs): the same designs
# simulated and fitted in R with R's own random numbers, so the crate's power must agree
# within Monte Carlo error; and the marginal drop-out rate by numerical integration.
# Writes tests/fixtures/power/binary.json. Run from the repository root:
#   Rscript tests/reference/binary_power.R
# SIMULATED DATA only.
library(lme4)
library(jsonlite)
set.seed(20261128)
sim <- function(nt, nc, baseline, or, icc) {
  tau <- sqrt(icc / (1 - icc) * pi^2 / 3)
  th <- rep(seq_len(nt), each = nc)
  u <- rnorm(nt, 0, tau)[th]
  anx <- rnorm(nt * nc)
  eta <- qlogis(baseline) + log(or) * anx + u
  data.frame(therapist = factor(th), anxiety = anx, dropout = rbinom(nt * nc, 1, plogis(eta)))
}
run <- function(nt, nc, baseline, or, icc, multilevel, reps, alpha = 0.05) {
  sig <- 0; failed <- 0
  for (r in seq_len(reps)) {
    d <- sim(nt, nc, baseline, or, icc)
    p <- tryCatch({
      if (multilevel) {
        f <- suppressMessages(glmer(dropout ~ anxiety + (1 | therapist), family = binomial, data = d))
        summary(f)$coefficients["anxiety", 4]
      } else {
        summary(glm(dropout ~ anxiety, family = binomial, data = d))$coefficients["anxiety", 4]
      }
    }, error = function(e) NA)
    if (is.na(p)) failed <- failed + 1 else sig <- sig + (p < alpha)
  }
  list(therapists = nt, clients_per_therapist = nc, baseline = baseline, odds_ratio = or,
       icc = icc, multilevel = multilevel, replicates = reps, significant = sig,
       failed = failed, power = sig / (reps - failed))
}
marginal <- function(baseline, or, icc) {
  tau <- sqrt(icc / (1 - icc) * pi^2 / 3); s <- sqrt(log(or)^2 + tau^2)
  integrate(function(z) plogis(qlogis(baseline) + s * z) * dnorm(z), -Inf, Inf,
            rel.tol = 1e-12)$value
}
res <- list(
  designs = list(
    run(20, 10, 0.25, 1.5, 0.10, TRUE, 600),
    run(20, 10, 0.25, 1.5, 0.0, FALSE, 2000)
  ),
  marginal = list(baseline = 0.25, odds_ratio = 1.5, icc = 0.10,
                  rate = marginal(0.25, 1.5, 0.10))
)
dir.create("tests/fixtures/power", showWarnings = FALSE)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/power/binary.json")
cat(R.version.string, " lme4", format(packageVersion("lme4")), "\n")
