# References for multilevel mediation with the within/between split
# (tests/multilevel_mediation_reference.rs): lmer fits of the same decomposition, and a
# two-level lavaan SEM for the 2-1-1 b paths.
# Run from this folder:  Rscript multilevel_mediation.R
#   (R 4.2.2, lme4 1.1-31, lavaan 0.6-12, jsonlite)
#
# One simulated session-level study (330 clients of 44 therapists, 6-14 sessions each, a few
# missing values) holds the variables of every design:
#   2-1-1: anx (client) -> secure (session) -> engage (session); b within +0.20, between -0.14
#   1-1-1: stress (session) -> mood (session) -> engage2 (session)
#   2-2-1: anx (client) -> alliance (client) -> engage (session)
#   2-1-1-2 (serial): anx (client) -> secure (session) -> engage (session) -> iip_change (client)
# Within parts are a variable less its client mean, between parts the client mean less the grand
# mean, both over the rows the design uses (complete on its variables).
suppressPackageStartupMessages({library(lme4); library(lavaan); library(jsonlite)})
fx <- "../fixtures/mlmed"
dir.create(fx, showWarnings = FALSE, recursive = TRUE)
set.seed(2011)
n_th <- 44; n_cl <- 330
th <- sort(c(1:n_th, sample(1:n_th, n_cl - n_th, replace = TRUE)))
u_th <- rnorm(n_th, 0, 0.3)
anx <- round(rnorm(n_cl), 3)
mu_sec <- 0.5 * anx + rnorm(n_cl, 0, 0.6)            # a = 0.5 on the client means
alliance <- round(0.4 * anx + rnorm(n_cl), 3)          # 2-2-1 mediator
mu_stress <- rnorm(n_cl, 0, 0.7)
v_cl <- rnorm(n_cl, 0, 0.4)
rows <- list()
for (j in seq_len(n_cl)) {
  s <- sort(sample(1:16, sample(6:14, 1)))
  k <- length(s)
  secure <- mu_sec[j] + rnorm(k, 0, 0.8)
  engage <- 0.20 * (secure - mu_sec[j]) - 0.14 * mu_sec[j] + 0.1 * anx[j] + 0.25 * alliance[j] +
    u_th[th[j]] + v_cl[j] + rnorm(k, 0, 0.5)
  stress <- mu_stress[j] + rnorm(k, 0, 0.6)
  mood <- 0.4 * (stress - mu_stress[j]) + 0.3 * mu_stress[j] + rnorm(1, 0, 0.3) + rnorm(k, 0, 0.5)
  engage2 <- 0.25 * mood - 0.1 * stress + rnorm(1, 0, 0.3) + rnorm(k, 0, 0.5)
  rows[[j]] <- data.frame(therapist = sprintf("T%02d", th[j]), client = sprintf("C%03d", j),
                          session = s, anx = anx[j], alliance = alliance[j],
                          secure = round(secure, 3), engage = round(engage, 3),
                          stress = round(stress, 3), mood = round(mood, 3), engage2 = round(engage2, 3))
}
d <- do.call(rbind, rows)
cm_eng <- tapply(d$engage, d$client, mean)
iip <- round(-0.5 * cm_eng + 0.1 * mu_sec + 0.1 * anx + rnorm(n_cl, 0, 0.3), 3)
d$iip_change <- iip[match(d$client, sprintf("C%03d", seq_len(n_cl)))]
d$secure[sample(nrow(d), 12)] <- NA
d$engage[sample(nrow(d), 9)] <- NA
d$mood[sample(nrow(d), 7)] <- NA
write.csv(d, file.path(fx, "sessions.csv"), row.names = FALSE, na = "NA")
d <- read.csv(file.path(fx, "sessions.csv"))

split <- function(d, v) {
  cm <- ave(d[[v]], d$client)
  d[[paste0(v, "_within")]] <- d[[v]] - cm
  d[[paste0(v, "_between")]] <- cm - mean(d[[v]])
  d
}
fe <- function(m, t) unname(fixef(m)[t])
se <- function(m, t) unname(sqrt(diag(vcov(m)))[match(t, names(fixef(m)))])
complete <- function(d, vars) d[complete.cases(d[, c(vars, "client", "therapist")]), ]
re <- function(three) if (three) " + (1 | therapist) + (1 | client)" else " + (1 | client)"

# 2-1-1
m211 <- function(three) {
  u <- split(complete(d, c("anx", "secure", "engage")), "secure")
  fa <- lmer(as.formula(paste0("secure ~ anx", re(three))), u, REML = TRUE)
  fb <- lmer(as.formula(paste0("engage ~ secure_within + secure_between + anx", re(three))), u, REML = TRUE)
  list(nobs = nrow(u), n_clients = length(unique(u$client)),
       a = fe(fa, "anx"), a_se = se(fa, "anx"),
       b_within = fe(fb, "secure_within"), b_within_se = se(fb, "secure_within"),
       b_between = fe(fb, "secure_between"), b_between_se = se(fb, "secure_between"),
       c_prime = fe(fb, "anx"), c_prime_se = se(fb, "anx"),
       indirect_between = fe(fa, "anx") * fe(fb, "secure_between"))
}
two <- m211(FALSE); three <- m211(TRUE)

# lavaan two-level SEM of the 2-1-1 model (latent client means), for the b paths.
u <- complete(d, c("anx", "secure", "engage"))
lv <- sem('
  level: 1
    engage ~ secure
  level: 2
    secure ~ anx
    engage ~ secure + anx
', data = u, cluster = "client")
pe <- parameterEstimates(lv)
lav <- list(b_within = pe$est[pe$level == 1 & pe$lhs == "engage" & pe$rhs == "secure" & pe$op == "~"],
            b_within_se = pe$se[pe$level == 1 & pe$lhs == "engage" & pe$rhs == "secure" & pe$op == "~"],
            b_between = pe$est[pe$level == 2 & pe$lhs == "engage" & pe$rhs == "secure" & pe$op == "~"],
            b_between_se = pe$se[pe$level == 2 & pe$lhs == "engage" & pe$rhs == "secure" & pe$op == "~"])

# 1-1-1 (two levels), with a covariate
u <- split(split(complete(d, c("stress", "mood", "engage2", "session")), "stress"), "mood")
fa <- lmer(mood ~ stress_within + stress_between + session + (1 | client), u)
fb <- lmer(engage2 ~ mood_within + mood_between + stress_within + stress_between + session + (1 | client), u)
m111 <- list(nobs = nrow(u), a_within = fe(fa, "stress_within"), a_between = fe(fa, "stress_between"),
             b_within = fe(fb, "mood_within"), b_between = fe(fb, "mood_between"),
             c_prime_within = fe(fb, "stress_within"), c_prime_between = fe(fb, "stress_between"),
             indirect_within = fe(fa, "stress_within") * fe(fb, "mood_within"),
             indirect_between = fe(fa, "stress_between") * fe(fb, "mood_between"),
             a_within_se = se(fa, "stress_within"), b_within_se = se(fb, "mood_within"))

# 2-2-1 (three levels): the a path on one row per client, with a therapist intercept
u <- complete(d, c("anx", "alliance", "engage"))
cl <- u[!duplicated(u$client), ]
fa <- lmer(alliance ~ anx + (1 | therapist), cl)
fb <- lmer(engage ~ alliance + anx + (1 | therapist) + (1 | client), u)
m221 <- list(nobs = nrow(u), n_clients = nrow(cl), a = fe(fa, "anx"), b_between = fe(fb, "alliance"),
             c_prime = fe(fb, "anx"), indirect_between = fe(fa, "anx") * fe(fb, "alliance"),
             a_se = se(fa, "anx"), b_between_se = se(fb, "alliance"))

# 2-1-1-2 serial (three levels): client means of the session mediators predict the client-level
# outcome.
u <- split(split(complete(d, c("anx", "secure", "engage", "iip_change")), "secure"), "engage")
f1 <- lmer(secure ~ anx + (1 | therapist) + (1 | client), u)
f2 <- lmer(engage ~ secure_within + secure_between + anx + (1 | therapist) + (1 | client), u)
cl <- u[!duplicated(u$client), ]
fy <- lmer(iip_change ~ secure_between + engage_between + anx + (1 | therapist), cl)
a1 <- fe(f1, "anx"); a2 <- fe(f2, "anx"); d21 <- fe(f2, "secure_between")
b1 <- fe(fy, "secure_between"); b2 <- fe(fy, "engage_between")
serial <- list(nobs = nrow(u), n_clients = nrow(cl), a1 = a1, a2 = a2, d21_within = fe(f2, "secure_within"),
               d21 = d21, b1 = b1, b2 = b2, c_prime = fe(fy, "anx"),
               ind1 = a1 * b1, ind2 = a2 * b2, ind12 = a1 * d21 * b2,
               total_indirect = a1 * b1 + a2 * b2 + a1 * d21 * b2)

# 1-1-1 with random a and b slopes (Bauer, Preacher & Gil 2006): M and Y stacked into one
# model with outcome-specific residual variances. lme4 with prior weights (weight rho on the M
# rows) gives the REML criterion of that model at a variance ratio rho; rho is profiled with
# optimize(). (nlme::lme with varIdent stops at a worse point on these data: its REML criterion
# 5015.97 is above the 5015.49 reached here, so lme4's profile is the reference.)
suppressPackageStartupMessages(library(MASS))
set.seed(77)
n_cl <- 120
S <- matrix(c(0.04, 0.5*0.2*0.2, 0.5*0.2*0.2, 0.04), 2)
ab <- mvrnorm(n_cl, c(0.4, 0.3), S)
rows <- list()
for (j in 1:n_cl) {
  k <- sample(8:12, 1)
  xm <- rnorm(1, 0, 0.7)
  x <- xm + rnorm(k, 0, 1)
  mm <- 0.3 * xm + rnorm(1, 0, 0.4)
  m <- mm + ab[j, 1] * (x - xm) + rnorm(k, 0, 0.5)
  y <- 0.2 * mm + ab[j, 2] * (m - mm) + 0.1 * (x - xm) + rnorm(1, 0, 0.4) + rnorm(k, 0, 0.8)
  rows[[j]] <- data.frame(client = sprintf("K%03d", j), x = round(x, 4), m = round(m, 4), y = round(y, 4))
}
write.csv(do.call(rbind, rows), file.path(fx, "slopes.csv"), row.names = FALSE)
s2 <- split(split(read.csv(file.path(fx, "slopes.csv")), "x"), "m")
st <- rbind(
  data.frame(client = s2$client, z = s2$m, outcome = "m", dm = 1, dy = 0, xw = s2$x_within, xb = s2$x_between, mw = 0, mb = 0),
  data.frame(client = s2$client, z = s2$y, outcome = "y", dm = 0, dy = 1, xw = s2$x_within, xb = s2$x_between, mw = s2$m_within, mb = s2$m_between))
st$a_w <- st$dm * st$xw; st$a_b <- st$dm * st$xb
st$b_w <- st$dy * st$mw; st$b_b <- st$dy * st$mb; st$cp_w <- st$dy * st$xw; st$cp_b <- st$dy * st$xb
fit_rho <- function(lr) { st$w <- ifelse(st$outcome == "m", exp(lr), 1)
  suppressMessages(suppressWarnings(lmer(z ~ 0 + dm + a_w + a_b + dy + b_w + b_b + cp_w + cp_b +
    (0 + dm + a_w + dy + b_w | client), st, weights = w, REML = TRUE))) }
o <- optimize(function(lr) REMLcrit(fit_rho(lr)), c(-3, 3), tol = 1e-8)
fs <- fit_rho(o$minimum)
vcs <- VarCorr(fs)$client
slopes <- list(rho = exp(o$minimum), reml = o$objective,
               a_within = fe(fs, "a_w"), a_between = fe(fs, "a_b"), b_within = fe(fs, "b_w"),
               b_between = fe(fs, "b_b"), c_prime_within = fe(fs, "cp_w"), c_prime_between = fe(fs, "cp_b"),
               cov_ab = vcs["a_w", "b_w"],
               indirect_within = fe(fs, "a_w") * fe(fs, "b_w") + vcs["a_w", "b_w"],
               indirect_between = fe(fs, "a_b") * fe(fs, "b_b"),
               a_within_se = se(fs, "a_w"), b_within_se = se(fs, "b_w"))

writeLines(toJSON(list(two = two, three = three, lavaan = lav, m111 = m111, m221 = m221, serial = serial,
                       slopes = slopes),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(fx, "reference.json"))
