# References for the local-optimum guard (tests/lmm_optimum.rs): data sets with a factor random
# slope `y ~ f + (f | g)` where a plain BOBYQA run from lme4's start stops on a worse face of the
# boundary than lme4 reaches. Seeds 25 and 30 of this generator (out of 40 tried; the crate before
# the guard was worse than lme4 on these two, by 2.31 and 0.31 in the REML criterion).
# Run from this folder:  Rscript local_optima.R   (R 4.2.2, lme4 1.1-31, MASS, jsonlite)
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
fx <- "../fixtures/local_optima"
dir.create(fx, showWarnings = FALSE, recursive = TRUE)
out <- list()
for (seed in c(25, 30)) {
  set.seed(seed)
  ng <- 15; f <- factor(rep(c("a","b","c"), times = ng*4)); g <- factor(rep(1:ng, each = 12))
  S <- matrix(c(1, 0.5, -0.3, 0.5, 0.8, 0.2, -0.3, 0.2, 0.5), 3) * runif(1, 0.1, 1)
  U <- MASS::mvrnorm(ng, c(0,0,0), S)
  X <- model.matrix(~ f)
  y <- X %*% c(1, 0.5, -0.2) + rowSums(X * U[as.integer(g), ]) + rnorm(length(f), 0, 1)
  d <- data.frame(y = round(y, 4), f = f, g = g)
  file <- sprintf("factor_slope_%d.csv", seed)
  write.csv(d, file.path(fx, file), row.names = FALSE)
  d <- read.csv(file.path(fx, file))
  m <- suppressMessages(lmer(y ~ f + (f | g), d))
  out[[length(out) + 1]] <- list(file = file, reml = REMLcrit(m), theta = unname(getME(m, "theta")),
                                 singular = isSingular(m))
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(fx, "reference.json"))
