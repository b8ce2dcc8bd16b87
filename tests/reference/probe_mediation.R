# References for probing and mediation (tests/probe_reference.rs, tests/mediation_reference.rs).
# Run from this folder:  Rscript probe_mediation.R   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3)
# Simple slopes are computed the textbook way the `interactions` package documents: refit with
# the moderator re-centred at each value; the focal coefficient is then the simple slope.
suppressPackageStartupMessages({library(lmerTest); library(jsonlite)})
fx <- "../fixtures"
write.csv(mtcars, file.path(fx, "mtcars.csv"), row.names = FALSE)
mt <- read.csv(file.path(fx, "mtcars.csv"))
fit <- lm(mpg ~ hp * wt, mt)
w <- mt$wt
at <- c(mean(w) - sd(w), mean(w), mean(w) + sd(w), unname(quantile(w, c(0.16, 0.5, 0.84))), 2.5)
slopes <- lapply(at, function(v) {
  m <- lm(mpg ~ hp * I(wt - v), mt); co <- summary(m)$coefficients["hp", ]
  ci <- confint(m)["hp", ]
  list(at = v, slope = unname(co[1]), se = unname(co[2]), t = unname(co[3]), p = unname(co[4]), lower = unname(ci[1]), upper = unname(ci[2]))
})
# Johnson-Neyman bounds in closed form (Bauer & Curran 2005): solve t(w)^2 = t_crit^2.
b <- coef(fit); V <- vcov(fit); tc <- qt(0.975, df.residual(fit))
A <- b["hp:wt"]^2 - tc^2 * V["hp:wt", "hp:wt"]
B <- 2 * (b["hp"] * b["hp:wt"] - tc^2 * V["hp", "hp:wt"])
C <- b["hp"]^2 - tc^2 * V["hp", "hp"]
jn <- sort(unname((-B + c(-1, 1) * sqrt(B^2 - 4 * A * C)) / (2 * A)))
ols <- list(formula = "mpg ~ hp * wt", focal = "hp", moderator = "wt", slopes = slopes, jn = jn, df = df.residual(fit))

# The same in a mixed model: Orthodont with a simulated numeric moderator (stress).
orth <- read.csv(file.path(fx, "orthodont.csv"), stringsAsFactors = TRUE)
set.seed(11)
u <- rnorm(nlevels(orth$Subject), 0, 1.2)[as.integer(orth$Subject)]
orth$stress <- round(5 + 0.15 * orth$age + u + rnorm(nrow(orth), 0, 1.5), 2)
write.csv(orth, file.path(fx, "orthodont_stress.csv"), row.names = FALSE)
orth <- read.csv(file.path(fx, "orthodont_stress.csv"), stringsAsFactors = TRUE)
m <- lmer(distance ~ age * stress + (1 | Subject), orth)
s <- orth$stress
at2 <- c(mean(s) - sd(s), mean(s), mean(s) + sd(s))
lslopes <- lapply(at2, function(v) {
  mm <- lmer(distance ~ age * I(stress - v) + (1 | Subject), orth)
  co <- summary(mm)$coefficients["age", ]
  list(at = v, slope = unname(co[1]), se = unname(co[2]), df = unname(co[3]), t = unname(co[4]), p = unname(co[5]))
})
lmm <- list(formula = "distance ~ age * stress + (1 | Subject)", focal = "age", moderator = "stress", slopes = lslopes)

# Mediation paths by lm (Baron & Kenny / Hayes model 4 and model 6), mtcars.
a <- lm(wt ~ hp + cyl, mt); bb <- lm(mpg ~ hp + wt + cyl, mt); cc <- lm(mpg ~ hp + cyl, mt)
simple <- list(x = "hp", m = "wt", y = "mpg", covariates = "cyl",
  a = unname(coef(a)["hp"]), a_se = unname(sqrt(diag(vcov(a)))["hp"]),
  b = unname(coef(bb)["wt"]), b_se = unname(sqrt(diag(vcov(bb)))["wt"]),
  c_prime = unname(coef(bb)["hp"]), c = unname(coef(cc)["hp"]),
  indirect = unname(coef(a)["hp"] * coef(bb)["wt"]))
a1 <- lm(wt ~ hp + cyl, mt); d21 <- lm(qsec ~ hp + wt + cyl, mt); yb <- lm(mpg ~ hp + wt + qsec + cyl, mt)
serial <- list(x = "hp", m = c("wt", "qsec"), y = "mpg", covariates = "cyl",
  a1 = unname(coef(a1)["hp"]), a2 = unname(coef(d21)["hp"]), d21 = unname(coef(d21)["wt"]),
  b1 = unname(coef(yb)["wt"]), b2 = unname(coef(yb)["qsec"]), c_prime = unname(coef(yb)["hp"]), c = unname(coef(cc)["hp"]),
  ind1 = unname(coef(a1)["hp"] * coef(yb)["wt"]), ind2 = unname(coef(d21)["hp"] * coef(yb)["qsec"]),
  ind12 = unname(coef(a1)["hp"] * coef(d21)["wt"] * coef(yb)["qsec"]))
# Multilevel paths: random intercepts by Subject (orthodont_stress): age -> stress -> distance.
ma <- lmer(stress ~ age + (1 | Subject), orth); mb <- lmer(distance ~ age + stress + (1 | Subject), orth)
mc <- lmer(distance ~ age + (1 | Subject), orth)
multilevel <- list(x = "age", m = "stress", y = "distance", cluster = "Subject",
  a = unname(fixef(ma)["age"]), b = unname(fixef(mb)["stress"]), c_prime = unname(fixef(mb)["age"]), c = unname(fixef(mc)["age"]))
# Partial and semi-partial correlations and the FWL equivalence (mtcars: mpg, hp | wt).
r_xz <- resid(lm(hp ~ wt, mt)); r_yz <- resid(lm(mpg ~ wt, mt))
corr <- list(partial = cor(r_xz, r_yz), semipartial = cor(mt$mpg, r_xz), fwl = unname(coef(lm(mpg ~ hp + wt, mt))["hp"]),
  resid_coef = unname(coef(lm(mt$mpg ~ r_xz))[2]), resid_intercept = unname(coef(lm(hp ~ wt, mt))[1]), resid_slope = unname(coef(lm(hp ~ wt, mt))[2]),
  raw_coef = unname(coef(lm(mpg ~ hp, mt))[2]),
  # within-cluster residualization = FWL with cluster dummies
  within_slope = unname(coef(lm(hp ~ wt + factor(cyl), mt))["wt"]),
  within_resid_head = unname(head(resid(lm(hp ~ wt + factor(cyl), mt)), 5)))
write_json(list(ols = ols, lmm = lmm, simple = simple, serial = serial, multilevel = multilevel, corr = corr),
  file.path(fx, "probe_mediation.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
