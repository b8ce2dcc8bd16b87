# lme4's times for the fits of benches/glmm.rs (median of repeated glmer() calls, each from
# the data frame and formula, as the Rust bench measures formula → fit).
# Run from the repository root: Rscript benches/glmm_lme4.R
library(lme4)
rd <- function(f) read.csv(file.path("tests/fixtures/glmm", f))
cb <- rd("cbpp.csv"); dd <- rd("dropout.csv"); cr <- rd("crossed.csv"); ne <- rd("nested.csv")
med <- function(label, expr, reps = 30) {
  expr <- substitute(expr)
  eval(expr)  # warm-up
  t <- replicate(reps, system.time(eval(expr))[["elapsed"]])
  cat(sprintf("%-60s median %8.2f ms\n", label, 1000 * median(t)))
}
med("cbpp Laplace", glmer(cbind(incidence, rest) ~ period + (1 | herd), family = binomial, data = cb))
med("cbpp nAGQ = 10", glmer(cbind(incidence, rest) ~ period + (1 | herd), family = binomial, data = cb, nAGQ = 10))
med("dropout (1 | therapist)", glmer(dropout ~ anxiety + (1 | therapist), family = binomial, data = dd))
med("dropout (anxiety | therapist)", glmer(dropout ~ anxiety + (anxiety | therapist), family = binomial, data = dd))
med("Poisson crossed", glmer(missed ~ anxiety + offset(log(booked)) + (1 | therapist) + (1 | site), family = poisson, data = cr))
med("Bernoulli nested", glmer(dropout ~ anxiety + (1 | site/therapist), family = binomial, data = ne))
med("glm dropout ~ anxiety", glm(dropout ~ anxiety, family = binomial, data = dd), reps = 200)
cat(R.version.string, " lme4", format(packageVersion("lme4")), "\n")
