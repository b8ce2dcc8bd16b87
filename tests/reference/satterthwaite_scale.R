# Satterthwaite df at rescaled responses (y × 10^k), for tests/satterthwaite_scale.rs.
# Run from this folder:  Rscript satterthwaite_scale.R
# lmerTest's df do not depend on the units of y in exact arithmetic; its own pseudo-inverse
# cuts eigenvalues of the (θ, σ) Hessian at an absolute 1e-8, so at large scales it drops the
# σ direction and its df change. The fixture keeps every scale with lmerTest's df and a flag of
# whether they equal its df at k = 0 (to 1e-4 relative): the test compares with lmerTest where
# lmerTest is finite and consistent, and checks invariance everywhere.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
fx <- "../fixtures"
cases <- list(
  list(name = "sleepstudy", file = "sleepstudy.csv", y = "Reaction",
       formula = "Reaction ~ Days + (Days | Subject)"),
  list(name = "threelevel", file = "threelevel.csv", y = "symptoms",
       formula = "symptoms ~ session + alliance + (1 | therapist) + (1 | client)")
)
ks <- c(-100, -80, -60, -40, -20, -12, -8, -6, -4, -2, 0, 2, 4, 6, 8, 12, 20, 40, 60, 80, 100)
out <- list()
for (cs in cases) {
  d <- read.csv(file.path(fx, cs$file))
  rows <- list()
  for (k in ks) {
    dk <- d
    dk[[cs$y]] <- d[[cs$y]] * 10^k
    res <- tryCatch({
      m <- lmer(as.formula(cs$formula), data = dk, REML = TRUE,
                control = lmerControl(check.conv.grad = "ignore", check.conv.singular = "ignore"))
      tab <- coef(summary(m))
      list(k = k, df = unname(tab[, "df"]), t = unname(tab[, "t value"]),
           terms = rownames(tab))
    }, error = function(e) list(k = k, df = NULL, error = conditionMessage(e)))
    rows[[length(rows) + 1]] <- res
  }
  out[[cs$name]] <- list(formula = cs$formula, file = cs$file, y = cs$y, fits = rows)
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           file.path(fx, "scale/satterthwaite_scale.json"))
