# References for functions of variables in formulas (tests/formula_functions_reference.rs) and
# for the session-level model and per-level ICCs (performance::icc).
# Run from this folder:  Rscript formula_functions.R
#   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, performance 0.10.2, dplyr 1.0.10, jsonlite)
suppressPackageStartupMessages({library(lmerTest); library(performance); library(dplyr); library(jsonlite)})
fx <- "../fixtures/functions"
dir.create(fx, showWarnings = FALSE, recursive = TRUE)
set.seed(77)

# 1. A single-level data set with missing values (scale() and poly() use every non-missing value
#    of their argument, as model.frame evaluates them before na.omit).
n <- 120
d <- data.frame(x = round(runif(n, 0.5, 6), 3), z = round(rnorm(n), 3),
                w = round(rexp(n) + 0.2, 3), g = sample(1:4, n, TRUE),
                n_sessions = sample(4:20, n, TRUE))
d$y <- round(1 + 0.5 * d$x - 0.08 * d$x^2 + 0.3 * d$z + 0.4 * log(d$w) + 0.2 * d$g +
             rnorm(n, 0, 0.5), 3)
d$count <- round(exp(0.2 + 0.1 * d$z + log(d$n_sessions) + rnorm(n, 0, 0.2)), 3)
d$y[c(5, 40)] <- NA
d$x[c(9, 77)] <- NA
write.csv(d, file.path(fx, "functions.csv"), row.names = FALSE, na = "NA")
d <- read.csv(file.path(fx, "functions.csv"))
newd <- data.frame(x = c(1, 2.5, 4, 5.5), z = c(-1, 0, 0.5, 2), w = c(0.5, 1, 2, 3),
                   g = c(1, 2, 3, 4), n_sessions = c(5, 10, 12, 20))
write.csv(newd, file.path(fx, "newdata.csv"), row.names = FALSE)

ols_models <- c(
  "y ~ I(x^2) + I(x*z) + log(w) + sqrt(w) + exp(z/4) + abs(z)",
  "y ~ scale(x) + scale(z, scale = FALSE) + factor(g)",
  "y ~ poly(x, 3, raw = TRUE) * z",
  "y ~ poly(z, 2) + factor(g):x",
  "log(count) ~ z + offset(log(n_sessions))",
  "y ~ log(x, base = 2) + log10(w) + I((x - 3)/2) + log1p(w)"
)
# R² as R >= 4.3.0 computes it for a model with an offset (the fitted values less the offset;
# R 4.2's summary.lm left the offset in, which NEWS for 4.3.0 calls a bug).
r2_offset_aware <- function(m) {
  f <- fitted(m); o <- model.offset(model.frame(m)); if (!is.null(o)) f <- f - o
  mss <- sum((f - mean(f))^2); rss <- sum(resid(m)^2); mss / (mss + rss)
}
ols <- lapply(ols_models, function(f) {
  m <- lm(as.formula(f), d)
  s <- summary(m)
  s$r.squared <- r2_offset_aware(m)
  p <- predict(m, newd, se.fit = TRUE)
  list(formula = f, terms = names(coef(m)), estimate = unname(coef(m)),
       se = unname(s$coefficients[, 2]), sigma = s$sigma, r2 = s$r.squared,
       fitted = unname(fitted(m)), dropped = unname(as.integer(m$na.action)),
       predict = unname(p$fit), predict_se = unname(p$se.fit))
})

# 2. A session-level study file, built with dplyr as the Rust test builds it with Data's
#    operations: sessions in clients in therapists; client-level anxiety joined in; Secure split
#    into the client mean and the within-client deviation.
n_th <- 12; n_cl <- 72
th <- sprintf("T%02d", rep(seq_len(n_th), each = n_cl / n_th))
cl_anx <- round(rnorm(n_cl, 3.4, 1), 2)
u_th <- rnorm(n_th, 0, 0.5)
u0 <- rnorm(n_cl, 0, 0.6); u1 <- rnorm(n_cl, 0, 0.08)
sess <- do.call(rbind, lapply(seq_len(n_cl), function(i) {
  s <- sort(sample(1:14, sample(6:12, 1)))
  sec_mean <- rnorm(1, 4, 0.6)
  secure <- round(sec_mean + rnorm(length(s), 0, 0.5), 3)
  y <- 2.5 + 0.12 * s - 0.004 * s^2 + 0.1 * cl_anx[i] + 0.02 * s * cl_anx[i] +
    0.3 * (sec_mean - 4) + 0.15 * (secure - sec_mean) + u_th[(i - 1) %/% 6 + 1] + u0[i] + u1[i] * s +
    rnorm(length(s), 0, 0.4)
  data.frame(therapist = th[i], client = sprintf("C%03d", i), session = s, secure = secure,
             engagement = round(y, 3))
}))
sess$secure[sample(nrow(sess), 10)] <- NA
sess$engagement[sample(nrow(sess), 8)] <- NA
clients <- data.frame(client = sprintf("C%03d", seq_len(n_cl)), anx = cl_anx)
write.csv(sess, file.path(fx, "sessions.csv"), row.names = FALSE, na = "NA")
write.csv(clients, file.path(fx, "clients.csv"), row.names = FALSE)
s <- read.csv(file.path(fx, "sessions.csv"))
cl <- read.csv(file.path(fx, "clients.csv"))
pm <- s %>% group_by(client) %>% summarise(secure_pm = mean(secure, na.rm = TRUE))
study <- s %>% left_join(cl, by = "client") %>% left_join(pm, by = "client") %>%
  mutate(secure_wc = secure - secure_pm)
f_study <- "engagement ~ session * anx + I(session^2) + secure_pm + secure_wc + (session | client) + (1 | therapist)"
m <- lmer(as.formula(f_study), study, REML = TRUE)
ic <- icc(m)
icg <- suppressWarnings(icc(m, by_group = TRUE))
lmm <- list(formula = f_study, terms = names(fixef(m)), estimate = unname(fixef(m)),
            se = unname(summary(m)$coefficients[, 2]), df = unname(summary(m)$coefficients[, 3]),
            theta = unname(getME(m, "theta")), sigma = sigma(m), objective = REMLcrit(m),
            nobs = nobs(m),
            icc = list(adjusted = ic$ICC_adjusted, conditional = ic$ICC_unadjusted,
                       group = as.list(setNames(icg$ICC, icg$Group))))
# A three-level intercept model: ICC per level.
m3 <- lmer(engagement ~ session + (1 | client) + (1 | therapist), study)
ic3 <- icc(m3); icg3 <- icc(m3, by_group = TRUE)
three <- list(formula = "engagement ~ session + (1 | client) + (1 | therapist)",
              objective = REMLcrit(m3),
              icc = list(adjusted = ic3$ICC_adjusted, conditional = ic3$ICC_unadjusted,
                         group = as.list(setNames(icg3$ICC, icg3$Group))))
# Functions inside a mixed model: orthogonal polynomial growth and an offset.
m4 <- lmer(engagement ~ poly(session, 2) + log(secure_pm) + offset(0.1 * secure_pm) + (1 | client), study)
fn_lmm <- list(formula = "engagement ~ poly(session, 2) + log(secure_pm) + offset(0.1 * secure_pm) + (1 | client)",
               terms = names(fixef(m4)), estimate = unname(fixef(m4)),
               se = unname(summary(m4)$coefficients[, 2]), theta = unname(getME(m4, "theta")),
               objective = REMLcrit(m4), fitted = unname(fitted(m4)))

writeLines(toJSON(list(ols = ols, lmm = lmm, three = three, fn_lmm = fn_lmm),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(fx, "reference.json"))
