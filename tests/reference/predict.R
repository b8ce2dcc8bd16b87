# Reference values for predictions, fitted values and residuals (tests/predict_reference.rs):
# lme4::lmer / glmer and stats::glm, written to tests/fixtures/predict/.
# Run from the repository root: Rscript tests/reference/predict.R
#
# Every mixed model is fitted to convergence (nloptwrap with tight tolerances, tolPwrss = 1e-12
# for glmer): lme4's defaults stop ~1e-6 short of the optimum, which would show in the eighth
# digit of a prediction. Standard errors of the fixed part are sqrt(diag(X V X')) with V =
# vcov(fit): lme4 1.1-31's predict has no se.fit, so that closed form is the reference.
library(lme4)
library(jsonlite)
fx <- "tests/fixtures"
out <- file.path(fx, "predict")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_rel = 1e-14, ftol_rel = 1e-15, ftol_abs = 1e-15,
                                    xtol_abs = 1e-14, maxeval = 1e5))
gtight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                       optCtrl = list(rhoend = 1e-12, maxfun = 1e5))

se_fixed <- function(fit, newdata) {
  tt <- delete.response(terms(fit, fixed.only = TRUE))
  X <- model.matrix(tt, model.frame(tt, newdata), contrasts.arg = attr(getME(fit, "X"), "contrasts"))
  sqrt(rowSums((X %*% as.matrix(vcov(fit))) * X))
}

res <- list()

# 1. sleepstudy, correlated random intercept and slope; new data with a subject never seen.
ss <- read.csv(file.path(fx, "sleepstudy.csv")); ss$Subject <- factor(ss$Subject)
m1 <- lmer(Reaction ~ Days + (Days | Subject), ss, control = tight)
nd1 <- data.frame(Days = c(0, 4.5, 9, 12, 3, 7.25), Subject = c("308", "308", "372", "999", "999", "330"))
write.csv(nd1, file.path(out, "sleep_new.csv"), row.names = FALSE)
res$sleep <- list(
  theta = unname(getME(m1, "theta")), beta = unname(fixef(m1)), sigma = sigma(m1),
  population = unname(predict(m1, nd1, re.form = NA)),
  conditional = unname(predict(m1, nd1, allow.new.levels = TRUE)),
  se_fixed = unname(se_fixed(m1, nd1)),
  fitted = unname(fitted(m1)),
  resid_response = unname(resid(m1, type = "response")),
  resid_pearson = unname(resid(m1, type = "pearson")),
  resid_scaled = unname(resid(m1, scaled = TRUE)),
  resid_marginal = unname(ss$Reaction - predict(m1, re.form = NA)))

# 2. Orthodont: a factor in the fixed part (Sex) and in the data of new rows.
orth <- read.csv(file.path(fx, "orthodont.csv"))
m2 <- lmer(distance ~ age * Sex + (age | Subject), orth, control = tight)
nd2 <- data.frame(age = c(8, 11, 14, 9.5), Sex = c("Male", "Female", "Female", "Male"),
                  Subject = c("M01", "F03", "NEW", "F03"))
write.csv(nd2, file.path(out, "orth_new.csv"), row.names = FALSE)
res$orth <- list(
  theta = unname(getME(m2, "theta")),
  population = unname(predict(m2, nd2, re.form = NA)),
  conditional = unname(predict(m2, nd2, allow.new.levels = TRUE)),
  se_fixed = unname(se_fixed(m2, nd2)))

# 3. Sessions in clients in therapists (SIMULATED DATA, tests/reference/levels.R), missing
#    outcomes: fitted values and residuals aligned to the data's rows (na.exclude), and
#    predictions with only the therapist effect, only the client effect, and both.
se <- read.csv(file.path(fx, "levels/sessions.csv"))
se$client <- factor(se$client); se$therapist <- factor(se$therapist)
m3 <- lmer(autonomy ~ session + ecr_anx + (1 | therapist) + (1 | client), se,
           na.action = na.exclude, control = tight)
nd3 <- data.frame(session = c(1, 5, 10, 3), ecr_anx = c(3.2, 2.1, 4.4, 3.0),
                  therapist = c("t01", "t02", "t99", "t03"), client = c("1001", "9999", "9998", "1001"))
write.csv(nd3, file.path(out, "sessions_new.csv"), row.names = FALSE)
res$sessions <- list(
  theta = unname(getME(m3, "theta")),
  fitted = unname(fitted(m3)),
  resid_response = unname(resid(m3)),
  population = unname(predict(m3, nd3, re.form = NA)),
  conditional = unname(predict(m3, nd3, allow.new.levels = TRUE)),
  therapist_only = unname(predict(m3, nd3, re.form = ~ (1 | therapist), allow.new.levels = TRUE)),
  client_only = unname(predict(m3, nd3, re.form = ~ (1 | client), allow.new.levels = TRUE)),
  se_fixed = unname(se_fixed(m3, nd3)))

# 4. GLM: logistic regression of drop-out (SIMULATED DATA, tests/reference/glmm.R).
dd <- read.csv(file.path(fx, "glmm/dropout.csv"))
g1 <- glm(dropout ~ anxiety, binomial, dd)
nd4 <- data.frame(anxiety = c(-2, 0, 0.5, 2.5), therapist = c("t01", "t02", "t77", "t40"))
write.csv(nd4, file.path(out, "dropout_new.csv"), row.names = FALSE)
pl <- predict(g1, nd4, type = "link", se.fit = TRUE)
pr <- predict(g1, nd4, type = "response", se.fit = TRUE)
res$glm <- list(link = unname(pl$fit), se_link = unname(pl$se.fit),
                response = unname(pr$fit), se_response = unname(pr$se.fit))

# 5. GLMM: cbpp with a factor (period) and a new herd; drop-out with a random slope.
cb <- read.csv(file.path(fx, "glmm/cbpp.csv"))
g2 <- glmer(cbind(incidence, rest) ~ period + (1 | herd), data = cb, family = binomial, control = gtight)
nd5 <- data.frame(period = c("p1", "p2", "p4", "p3"), herd = c("h1", "h5", "h99", "h15"),
                  incidence = 0, rest = 1)
write.csv(nd5, file.path(out, "cbpp_new.csv"), row.names = FALSE)
res$cbpp <- list(
  theta = unname(getME(g2, "theta")),
  link_population = unname(predict(g2, nd5, re.form = NA, type = "link")),
  response_population = unname(predict(g2, nd5, re.form = NA, type = "response")),
  link = unname(predict(g2, nd5, allow.new.levels = TRUE, type = "link")),
  response = unname(predict(g2, nd5, allow.new.levels = TRUE, type = "response")),
  se_fixed = unname(se_fixed(g2, nd5)),
  fitted = unname(fitted(g2)),
  resid_response = unname(resid(g2, type = "response")),
  resid_pearson = unname(resid(g2, type = "pearson")),
  resid_deviance = unname(resid(g2, type = "deviance")))
g3 <- glmer(dropout ~ anxiety + (anxiety | therapist), data = dd, family = binomial, control = gtight)
res$dropout <- list(
  theta = unname(getME(g3, "theta")),
  link = unname(predict(g3, nd4, allow.new.levels = TRUE, type = "link")),
  response = unname(predict(g3, nd4, allow.new.levels = TRUE, type = "response")),
  response_population = unname(predict(g3, nd4, re.form = NA, type = "response")))

write_json(res, file.path(out, "reference.json"), digits = NA, pretty = TRUE)
