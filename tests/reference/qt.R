# Student t quantiles from R's qt() on a grid of probabilities and (non-integer) df, for the
# unit test of stats::t_quantile. Writes tests/fixtures/qt.json.
# Run from the repository root: Rscript tests/reference/qt.R
library(jsonlite)
p <- c(1e-12, 1e-8, 1e-5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.45, 0.5, 0.55,
       0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 1 - 1e-5, 1 - 1e-8)
df <- c(0.3, 0.7, 1, 1.5, 2, 2.5, 3, 4.2, 5, 7.7, 10, 16.99999, 39.58, 100, 1000, 1e5, 1e8)
g <- expand.grid(p = p, df = df)
g$q <- qt(g$p, g$df)
writeLines(toJSON(list(p = g$p, df = g$df, q = g$q), digits = NA),
           "tests/fixtures/qt.json")
cat(R.version.string, "\n")
