# Binomial GLM with zero-trial rows (tests/hostile_input.rs): R counts them differently in nobs()
# (rows with non-zero prior weight: 48) and in BIC (logLik's "nobs" attribute: every row, 60).
# Run from this folder:  Rscript glm_zero_trials.R
suppressPackageStartupMessages(library(jsonlite))
set.seed(1)
n <- 60
x <- round(rnorm(n), 3)
size <- sample(1:10, n, replace = TRUE); size[1:12] <- 0
s <- rbinom(n, size, plogis(0.3 + 0.8 * x))
d <- data.frame(s = s, f = size - s, x = x)
write.csv(d, "../fixtures/glm/zero_trials.csv", row.names = FALSE)
m <- glm(cbind(s, f) ~ x, family = binomial, data = d)
out <- list(nobs = nobs(m), loglik_nobs = attr(logLik(m), "nobs"), BIC = BIC(m), AIC = AIC(m),
            logLik = as.numeric(logLik(m)), df_residual = m$df.residual, coef = unname(coef(m)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "../fixtures/glm/zero_trials.json")
