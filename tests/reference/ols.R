# Reference values for OLS (tests/ols_reference.rs).
# Run from this folder:  Rscript ols.R   (R 4.2.2, sandwich 3.0-2)
# Writes ../fixtures/{toothgrowth,warpbreaks,iris,airquality}.csv and ../fixtures/ols_reference.json
suppressPackageStartupMessages({library(jsonlite); library(sandwich)})
fx <- "../fixtures"
aq <- airquality
aq$Month <- c("5"="May", "6"="Jun", "7"="Jul", "8"="Aug", "9"="Sep")[as.character(aq$Month)]
sets <- list(toothgrowth = ToothGrowth, warpbreaks = warpbreaks, iris = iris, airquality = aq)
for (nm in names(sets)) write.csv(sets[[nm]], file.path(fx, paste0(nm, ".csv")), row.names = FALSE, na = "NA")
# Read back exactly as the crate does: strings are factors with sorted levels.
back <- lapply(names(sets), function(nm) read.csv(file.path(fx, paste0(nm, ".csv")), stringsAsFactors = TRUE))
names(back) <- names(sets)
models <- list(
  list(data = "toothgrowth", formula = "len ~ supp * dose"),
  list(data = "toothgrowth", formula = "len ~ 0 + supp + dose"),
  list(data = "warpbreaks", formula = "breaks ~ wool * tension"),
  list(data = "warpbreaks", formula = "breaks ~ wool:tension"),
  list(data = "warpbreaks", formula = "breaks ~ 0 + wool + tension"),
  list(data = "iris", formula = "Sepal.Length ~ Petal.Length * Species + Sepal.Width"),
  list(data = "iris", formula = "Sepal.Length ~ (Petal.Length + Petal.Width + Sepal.Width)^2"),
  list(data = "airquality", formula = "Ozone ~ Temp * Wind + Month"),
  list(data = "airquality", formula = "Ozone ~ Solar.R + Temp - 1")
)
out <- lapply(models, function(m) {
  d <- back[[m$data]]
  fit <- lm(as.formula(m$formula), data = d)
  # A rank-deficient fit is an error in the crate; record only which term R aliases.
  if (any(is.na(coef(fit)))) return(list(data = m$data, formula = m$formula, aliased = names(which(is.na(coef(fit))))))
  s <- summary(fit)
  co <- s$coefficients
  ci <- confint(fit)
  nd <- d[1:3, ]
  pr <- predict(fit, newdata = nd, se.fit = TRUE, interval = "prediction")
  pc <- predict(fit, newdata = nd, interval = "confidence")
  fs <- s$fstatistic
  list(
    aliased = names(which(is.na(coef(fit)))),
    data = m$data, formula = m$formula, call = sprintf("lm(%s, data = %s)", m$formula, m$data),
    terms = rownames(co), estimate = unname(co[, 1]), se = unname(co[, 2]), t = unname(co[, 3]),
    p = unname(co[, 4]), ci_lower = unname(ci[, 1]), ci_upper = unname(ci[, 2]),
    sigma = s$sigma, df = fit$df.residual, r2 = s$r.squared, adj_r2 = s$adj.r.squared,
    fstat = unname(fs[1]), fdf1 = unname(fs[2]), fdf2 = unname(fs[3]),
    fp = unname(pf(fs[1], fs[2], fs[3], lower.tail = FALSE)),
    nobs = nobs(fit), dropped = if (is.null(fit$na.action)) integer(0) else unname(as.integer(fit$na.action)),
    loglik = as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit),
    hc3_se = unname(sqrt(diag(vcovHC(fit, type = "HC3")))),
    hc0_se = unname(sqrt(diag(vcovHC(fit, type = "HC0")))),
    leverage_head = unname(head(hatvalues(fit), 5)),
    pred_fit = unname(pr$fit[, 1]), pred_se = unname(pr$se.fit),
    pred_lwr = unname(pr$fit[, 2]), pred_upr = unname(pr$fit[, 3]),
    conf_lwr = unname(pc[, 2]), conf_upr = unname(pc[, 3])
  )
})
write_json(out, file.path(fx, "ols_reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
