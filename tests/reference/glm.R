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

one <- function(name, file, formula, fit) {
  s <- summary(fit)$coefficients
  list(name = name, file = file, formula = formula,
       family = family(fit)$family, link = family(fit)$link,
       terms = rownames(s), estimate = unname(s[, 1]), se = unname(s[, 2]),
       z = unname(s[, 3]), p = unname(s[, 4]),
       wald_ci = unname(confint.default(fit)),
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
