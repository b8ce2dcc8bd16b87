# References for declared levels (tests/levels_reference.rs): a long session file of sessions in
# clients in therapists, in the layout clinical exports have, and R's answers on one row per client.
# Run from this folder:  Rscript levels.R   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, psych, dplyr,
# tidyr, jsonlite)
#
# SIMULATED data (no real clients): 30 therapists, 4-6 clients each, 3-12 sessions per client with
# missed sessions and drop-out. Layout traps, each tested on the Rust side:
#   - iip_pre and iip_post (client level) are stored on each client's FIRST session row only;
#   - ecr_anx and the once-per-client items e1..e4 are repeated on every row of the client;
#   - th_years is constant within therapists;
#   - engagement, autonomy and the repeated items s1..s5 vary over sessions;
#   - clients.csv is a separate client file (age, ecr_avoid): one client of the session file has
#     no row there, and one client row has no sessions.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(psych); library(dplyr); library(tidyr)
  library(jsonlite)
})
fx <- "../fixtures/levels"
dir.create(fx, showWarnings = FALSE, recursive = TRUE)
set.seed(2024)

n_t <- 30
per_t <- sample(4:6, n_t, TRUE)
therapist <- rep(sprintf("t%02d", seq_len(n_t)), per_t)
n_c <- length(therapist)
th_years <- round(runif(n_t, 1, 30))
cl <- data.frame(client = 1000 + seq_len(n_c), therapist = therapist,
                 th_years = rep(th_years, per_t))
cl$ecr_anx <- round(rnorm(n_c, 3.5, 1), 2)
cl$iip_pre <- round(rnorm(n_c, 1.8, 0.5), 3)
u_eng <- rnorm(n_c, 0, 0.4)
f_cl <- rnorm(n_c)                       # the once-per-client trait behind e1..e4
for (j in 1:4) cl[[paste0("e", j)]] <- pmin(7, pmax(1, round(4 + 0.9 * f_cl + rnorm(n_c, 0, 0.9))))
th_eff <- rep(rnorm(n_t, 0, 0.2), per_t)    # therapists differ in outcome
cl$iip_post <- round(cl$iip_pre - 0.3 + th_eff - 0.25 * u_eng + 0.1 * (cl$ecr_anx - 3.5) +
                       rnorm(n_c, 0, 0.3), 3)
cl$iip_post[sample(n_c, 9)] <- NA         # drop-out: no post-treatment questionnaire
f_rep <- rnorm(n_c)                      # the client part of the repeated instrument s1..s5

sess <- do.call(rbind, lapply(seq_len(n_c), function(i) {
  s <- sort(sample(1:14, sample(3:12, 1)))          # missed sessions are gaps
  n <- length(s)
  d <- data.frame(therapist = cl$therapist[i], client = cl$client[i], session = s,
                  th_years = cl$th_years[i], ecr_anx = cl$ecr_anx[i])
  for (j in 1:4) d[[paste0("e", j)]] <- cl[[paste0("e", j)]][i]
  d$engagement <- round(3 + 0.08 * s + u_eng[i] + rnorm(n, 0, 0.5), 3)
  d$autonomy <- round(2.5 + 0.3 * (d$engagement - mean(d$engagement)) + 0.2 * u_eng[i] + rnorm(1, 0, 0.3) +
                        rnorm(n, 0, 0.5), 3)
  g <- f_rep[i] + rnorm(n, 0, 0.6)                   # client + session part of s1..s5
  for (j in 1:5) d[[paste0("s", j)]] <- pmin(7, pmax(1, round(4 + 0.8 * g + rnorm(n, 0, 0.8))))
  d$iip_pre <- c(cl$iip_pre[i], rep(NA, n - 1))      # first session row only
  d$iip_post <- c(cl$iip_post[i], rep(NA, n - 1))
  d
}))
sess$engagement[sample(nrow(sess), 25)] <- NA
sess$autonomy[sample(nrow(sess), 20)] <- NA
rownames(sess) <- NULL
write.csv(sess, file.path(fx, "sessions.csv"), row.names = FALSE, na = "")
clients_file <- data.frame(client = cl$client, age = round(runif(n_c, 19, 68)),
                           ecr_avoid = round(rnorm(n_c, 2.8, 0.9), 2))
clients_file <- clients_file[-7, ]                                      # client 1007: no row
clients_file <- rbind(clients_file, data.frame(client = 1999, age = 44, ecr_avoid = 3.1))
write.csv(clients_file, file.path(fx, "clients.csv"), row.names = FALSE, na = "")
# A synthetic key (1-7 responses, one subscale, the mean of at least 80% of the items).
write_key <- function(file, name, items, subscale) {
  writeLines(toJSON(list(format = "securebase-key/1", name = name, version = "1",
    source = sprintf("SIMULATED: a synthetic %d-item key for tests (tests/reference/levels.R); not a published instrument.", length(items)),
    licence = "Synthetic test key; no licence needed.", response_min = 1, response_max = 7,
    items = items,
    subscales = list(list(name = subscale, items = items, aggregation = "mean",
                          min_answered = list(proportion = 0.8)))),
    auto_unbox = TRUE, pretty = TRUE), file.path(fx, file))
}
write_key("once_key.json", "Simulated once-per-client scale", paste0("e", 1:4), "trait")
write_key("repeated_key.json", "Simulated repeated scale", paste0("s", 1:5), "state")

# ---- R's answers -------------------------------------------------------------------------
s <- read.csv(file.path(fx, "sessions.csv"))
cf <- read.csv(file.path(fx, "clients.csv"))
filled <- s %>% arrange(client, session) %>% group_by(client) %>%
  fill(iip_pre, iip_post, .direction = "downup") %>% ungroup()
one <- s %>% arrange(client, session) %>% group_by(client) %>%
  summarise(therapist = first(therapist), th_years = first(th_years), ecr_anx = first(ecr_anx),
            iip_pre = first(na.omit(iip_pre)), iip_post = first(na.omit(iip_post)),
            e1 = first(e1), e2 = first(e2), e3 = first(e3), e4 = first(e4),
            eng_mean = mean(engagement, na.rm = TRUE), eng_first = first(na.omit(engagement)),
            eng_last = last(na.omit(engagement)), eng_sd = sd(engagement, na.rm = TRUE),
            n_sessions = n(), .groups = "drop") %>% arrange(client)
iip_pre_first_row <- first(one$iip_pre)

coefs_lm <- function(m) {
  sm <- summary(m)$coefficients
  list(terms = rownames(sm), estimate = unname(sm[, 1]), se = unname(sm[, 2]),
       df = m$df.residual, n = nobs(m), sigma = summary(m)$sigma)
}
coefs_lmer <- function(m) {
  sm <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(terms = rownames(sm), estimate = unname(sm[, 1]), se = unname(sm[, 2]),
       df = unname(sm[, "df"]), n = nobs(m), deviance_reml = unname(REMLcrit(m)),
       vcov_groups = vc$grp, vcov_var = vc$vcov)
}
rows_naive <- lm(iip_post ~ iip_pre, data = filled)                     # the session-row trap
ref <- list(
  n_rows = nrow(s), n_clients = nrow(one), n_therapists = length(unique(s$therapist)),
  clients_with_iip_post = sum(!is.na(one$iip_post)),
  # fit iip_post ~ iip_pre: client-level outcome and predictor, one row per client
  lm_client = coefs_lm(lm(iip_post ~ iip_pre, data = one)),
  lm_rows_filled = coefs_lm(rows_naive),
  lm_client_th = coefs_lm(lm(iip_post ~ ecr_anx + th_years, data = one)),
  lmer_client = coefs_lmer(lmer(iip_post ~ iip_pre + (1 | therapist), data = one, REML = TRUE)),
  # the client mean of a session variable as the way out of the level error
  lm_client_mean = coefs_lm(lm(iip_post ~ iip_pre + eng_mean, data = one)),
  lm_client_first = coefs_lm(lm(iip_post ~ iip_pre + eng_first, data = one)),
  lm_client_last = coefs_lm(lm(iip_post ~ iip_pre + eng_last, data = one)),
  lm_client_sd = coefs_lm(lm(iip_post ~ iip_pre + eng_sd, data = one)),
  # standardization at the variable's own level (over clients) vs over session rows
  lm_scale_clients = coefs_lm(lm(iip_post ~ scale(iip_pre), data = one)),
  sd_iip_pre_clients = sd(one$iip_pre), sd_iip_pre_rows = sd(filled$iip_pre),
  # after filling the first-row baseline down within clients: a session-level mixed model
  lmer_filled = coefs_lmer(lmer(engagement ~ iip_pre + session + (1 | client),
                                data = filled, REML = TRUE)),
  # group-mean centring within clients, the client mean at level 2
  lmer_centered = {
    d <- s %>% group_by(client) %>%
      mutate(eng_cm = mean(engagement, na.rm = TRUE), eng_cwc = engagement - eng_cm) %>% ungroup()
    coefs_lmer(lmer(autonomy ~ eng_cwc + eng_cm + (1 | client), data = d, REML = TRUE))
  },
  # the client file joined many-to-one
  join = {
    j <- left_join(s, cf, by = "client")
    list(rows = nrow(j), rows_unmatched = sum(is.na(j$age)),
         clients_unmatched = length(setdiff(unique(s$client), cf$client)),
         client_rows_unused = length(setdiff(cf$client, unique(s$client))),
         lm = coefs_lm(lm(iip_post ~ iip_pre + age,
                          data = left_join(one, cf, by = "client"))))
  },
  # reliability of the once-per-client instrument: one row per client
  alpha_client = {
    a <- psych::alpha(one[, paste0("e", 1:4)], warnings = FALSE)
    list(raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, n = nrow(one),
         feldt = c(a$feldt$lower.ci[[1]], a$feldt$upper.ci[[1]]))
  },
  alpha_rows = {
    a <- psych::alpha(s[, paste0("e", 1:4)], warnings = FALSE)
    list(raw_alpha = a$total$raw_alpha, n = nrow(s))
  },
  # the repeated instrument: alpha over the session rows (the point estimate is the same;
  # only its interval needs the clustering)
  alpha_repeated_rows = psych::alpha(s[, paste0("s", 1:5)], warnings = FALSE)$total$raw_alpha
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(fx, "reference.json"))
cat("rows", nrow(s), "clients", nrow(one), "\n")
