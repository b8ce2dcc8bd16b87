# Reference values for mediation with a binary outcome (tests/mediation_reference.rs), the
# PROCESS model 4 set-up with a dichotomous Y: M ~ X + C by OLS, Y ~ X + M + C and Y ~ X + C by
# logistic regression, indirect effect a*b in the log-odds metric. Writes
# tests/fixtures/mediation_binary/{data.csv, reference.json}.
# Run from the repository root: Rscript tests/reference/mediation_binary.R
# SIMULATED DATA.
library(jsonlite)
library(MASS)
set.seed(20261201)
n <- 300
x <- round(rnorm(n), 4)
cv <- round(rnorm(n), 4)
m <- round(0.4 * x + 0.2 * cv + rnorm(n), 4)
y <- rbinom(n, 1, plogis(-0.5 + 0.2 * x + 0.6 * m - 0.3 * cv))
d <- data.frame(x = x, m = m, c = cv, y = y)
d$m[c(7, 111)] <- NA  # two incomplete rows, dropped and reported
out <- "tests/fixtures/mediation_binary"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
write.csv(d, file.path(out, "data.csv"), row.names = FALSE, na = "")
cc <- d[complete.cases(d), ]
fa <- lm(m ~ x + c, cc)
fy <- glm(y ~ x + m + c, binomial, cc)
ft <- glm(y ~ x + c, binomial, cc)
a <- coef(fa)[["x"]]; b <- coef(fy)[["m"]]
# Monte Carlo interval (Preacher & Selig 2012) with R's random numbers, 200,000 draws: the
# crate's (own random numbers) must agree within Monte Carlo error.
set.seed(1)
da <- rnorm(2e5, a, sqrt(vcov(fa)["x", "x"])); db <- rnorm(2e5, b, sqrt(vcov(fy)["m", "m"]))
mc <- quantile(da * db, c(0.025, 0.975), names = FALSE)
# Case bootstrap (2,000 resamples): its SD of a*b, for a loose check of the crate's.
set.seed(2)
boot_ab <- replicate(2000, {
  i <- sample(nrow(cc), replace = TRUE); s <- cc[i, ]
  coef(lm(m ~ x + c, s))[["x"]] * coef(glm(y ~ x + m + c, binomial, s))[["m"]]
})
res <- list(n = nrow(cc), a = a, a_se = sqrt(vcov(fa)["x", "x"]),
            b = b, b_se = sqrt(vcov(fy)["m", "m"]),
            c_prime = coef(fy)[["x"]], c_prime_se = sqrt(vcov(fy)["x", "x"]),
            c = coef(ft)[["x"]], c_se = sqrt(vcov(ft)["x", "x"]),
            indirect = a * b, mc_ci = mc, boot_sd = sd(boot_ab),
            boot_ci = quantile(boot_ab, c(0.025, 0.975), names = FALSE))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "reference.json"))
cat(R.version.string, "\n")
