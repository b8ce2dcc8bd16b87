# References for the data operations (tests/data_ops_reference.rs): sort, aggregate, joins,
# lags within groups, wide <-> long, numeric <-> categorical.
# Run from this folder:  Rscript data_ops.R   (R 4.2.2, dplyr 1.0.10, tidyr 1.3.0, jsonlite)
# It simulates a small, messy session-level study (unsorted rows, missed sessions, missing
# values, a client without sessions and sessions of a client without a client row), writes the
# CSV files the Rust tests read, and the results R gives on them.
suppressPackageStartupMessages({library(dplyr); library(tidyr); library(jsonlite)})
fx <- "../fixtures/data_ops"
dir.create(fx, showWarnings = FALSE, recursive = TRUE)
set.seed(2024)

n_cl <- 30
clients <- data.frame(
  client = 100 + seq_len(n_cl),
  therapist = sprintf("t%02d", sample(1:6, n_cl, TRUE)),
  ecr_anx = round(rnorm(n_cl, 3.5, 1), 2),
  iip_pre = round(rnorm(n_cl, 1.8, 0.5), 3)
)
clients$iip_post <- round(clients$iip_pre - 0.3 + rnorm(n_cl, 0, 0.3), 3)
clients$iip_post[c(4, 17)] <- NA
sess <- do.call(rbind, lapply(seq_len(n_cl - 1), function(i) {   # the last client: no sessions
  s <- sort(sample(1:14, sample(5:11, 1)))                           # missed sessions = gaps
  data.frame(client = clients$client[i], therapist = clients$therapist[i], session = s,
             secure = round(rnorm(length(s), 4 + 0.05 * s, 0.6), 3),
             engagement = round(rnorm(length(s), 3 + 0.1 * s + 0.05 * i, 0.5), 3))
}))
extra <- data.frame(client = 999, therapist = "t01", session = 1:3,      # no client row
                    secure = c(4.1, 4.4, 3.9), engagement = c(2.2, 2.6, 2.9))
sess <- rbind(sess, extra)
sess$secure[sample(nrow(sess), 15)] <- NA
sess$engagement[sample(nrow(sess), 12)] <- NA
sess$phase <- ifelse(sess$session <= 4, "early", ifelse(sess$session <= 9, "middle", "late"))
sess$phase[sample(nrow(sess), 5)] <- NA
sess <- sess[sample(nrow(sess)), ]                                     # unsorted, as files are
rownames(sess) <- NULL
write.csv(sess, file.path(fx, "sessions.csv"), row.names = FALSE, na = "NA")
write.csv(clients, file.path(fx, "clients.csv"), row.names = FALSE, na = "NA")

s <- read.csv(file.path(fx, "sessions.csv"))
cl <- read.csv(file.path(fx, "clients.csv"))
s$row <- seq_len(nrow(s))
s$phase <- factor(s$phase)     # levels early, late, middle: R's sort order
s$therapist <- factor(s$therapist)

# 1. Sort: therapist, then engagement descending, missing values last (order's na.last = TRUE).
ord1 <- order(s$therapist, -s$engagement, na.last = TRUE)
# by phase (a factor: level order), then session, then client descending
ord2 <- order(s$phase, s$session, -s$client, na.last = TRUE)

# 2. Aggregate by client (rows in client/session order), missing values skipped.
ss <- s[order(s$client, s$session), ]
slope <- function(y, t) {
  ok <- !is.na(y) & !is.na(t)
  if (length(unique(t[ok])) < 2) return(NA_real_)
  unname(coef(lm(y[ok] ~ t[ok]))[2])
}
first_nm <- function(x) { x <- x[!is.na(x)]; if (length(x)) x[1] else NA }
last_nm <- function(x) { x <- x[!is.na(x)]; if (length(x)) x[length(x)] else NA }
agg <- ss %>% group_by(client) %>% summarise(
  n = n(),
  secure_mean = if (all(is.na(secure))) NA_real_ else mean(secure, na.rm = TRUE),
  secure_sd = sd(secure, na.rm = TRUE),
  secure_min = if (all(is.na(secure))) NA_real_ else min(secure, na.rm = TRUE),
  secure_max = if (all(is.na(secure))) NA_real_ else max(secure, na.rm = TRUE),
  secure_n = sum(!is.na(secure)),
  engagement_first = first_nm(engagement),
  engagement_last = last_nm(engagement),
  engagement_slope = slope(engagement, session),
  phase_last = as.character(last_nm(as.character(phase))),
  .groups = "drop")
skipped <- list(secure = sum(is.na(ss$secure)), engagement = sum(is.na(ss$engagement)))
# by two keys: therapist and phase (missing phase is its own group, last)
agg2 <- ss %>% group_by(therapist, phase) %>% summarise(n = n(),
  secure_mean = if (all(is.na(secure))) NA_real_ else mean(secure, na.rm = TRUE), .groups = "drop")

# 3. Joins, many-to-one on client; missing keys never match.
lj <- left_join(s, cl, by = "client", na_matches = "never")
ij <- inner_join(s, cl, by = "client", na_matches = "never")
join <- list(
  left_rows = lj$row, left_ecr = lj$ecr_anx, left_iip_post = lj$iip_post,
  left_unmatched = sum(!(s$client %in% cl$client)),
  right_unmatched = sum(!(cl$client %in% s$client)),
  inner_rows = ij$row, inner_ecr = ij$ecr_anx,
  # a clash of names: therapist in both -> therapist.x, therapist.y
  inner_names = names(ij))

# 4. Lag and lead within client by session number; a missed session gives NA.
key <- paste(ss$client, ss$session)
lag1 <- ss$secure[match(paste(ss$client, ss$session - 1), key)]
lag2 <- ss$secure[match(paste(ss$client, ss$session - 2), key)]
lead1 <- ss$engagement[match(paste(ss$client, ss$session + 1), key)]
lag_phase <- as.character(ss$phase[match(paste(ss$client, ss$session - 1), key)])

# 5. Long -> wide (client rows; sessions as columns, sorted), and back.
wide <- ss %>% select(client, session, secure, engagement) %>%
  pivot_wider(id_cols = client, names_from = session, values_from = c(secure, engagement),
              names_glue = "{.value}_s{session}", names_sort = TRUE)
wide <- as.data.frame(wide)
write.csv(wide, file.path(fx, "wide.csv"), row.names = FALSE, na = "NA")
w <- read.csv(file.path(fx, "wide.csv"))
long <- w %>% pivot_longer(-client, names_to = c(".value", "session"),
                           names_pattern = "(.*)_s(\\d+)") %>%
  mutate(session = as.numeric(session)) %>% arrange(client, session)

# 6. numeric -> categorical -> numeric
f <- factor(s$session)
num_again <- as.numeric(as.character(f))

out <- list(
  sort = list(by_therapist_engagement_desc = ord1, by_phase_session_client_desc = ord2),
  aggregate = list(client = agg$client, n = agg$n, secure_mean = agg$secure_mean,
                   secure_sd = agg$secure_sd, secure_min = agg$secure_min,
                   secure_max = agg$secure_max, secure_n = agg$secure_n,
                   engagement_first = agg$engagement_first, engagement_last = agg$engagement_last,
                   engagement_slope = agg$engagement_slope, phase_last = agg$phase_last,
                   skipped = skipped),
  aggregate2 = list(therapist = as.character(agg2$therapist), phase = as.character(agg2$phase),
                    n = agg2$n, secure_mean = agg2$secure_mean),
  join = join,
  lag = list(sorted_rows = ss$row, lag1 = lag1, lag2 = lag2, lead1 = lead1, lag_phase = lag_phase),
  wide = list(names = names(w), nrow = nrow(w)),
  long = list(client = long$client, session = long$session, secure = long$secure,
              engagement = long$engagement),
  factor = list(levels = levels(f), codes = as.integer(f), back = num_again)
)
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE),
           file.path(fx, "reference.json"))
