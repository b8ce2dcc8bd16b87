# Scores for the built-in keys (keys/*.json), computed in R from each instrument's scoring
# rule exactly as its source states it -- written out here from the sources, not read from the
# JSON keys -- on simulated responses with missing items. tests/scoring_reference.rs scores
# the same CSVs with the built-in keys and compares.
# Run from this folder:  Rscript builtin_keys.R   (R 4.2.2, jsonlite)
suppressPackageStartupMessages(library(jsonlite))
fx <- "../fixtures/builtin"
dir.create(fx, showWarnings = FALSE)
set.seed(20261126)

simulate <- function(n, k, lo, hi, prefix) {
  x <- matrix(sample(lo:hi, n * k, replace = TRUE), n, k)
  # about 6% of responses missing, and one respondent with nothing answered
  x[matrix(runif(n * k) < 0.06, n, k)] <- NA
  x[3, ] <- NA
  colnames(x) <- paste0(prefix, 1:k)
  x
}
# Mean of the answered items, missing below 80% of the subscale answered (the crate's
# default rule for these keys; ceiling(0.8 k) items).
score_mean <- function(x, items, reverse, lo, hi) {
  y <- x[, items, drop = FALSE]
  r <- match(reverse, items)
  y[, r] <- (hi + lo) - y[, r]
  answered <- rowSums(!is.na(y))
  s <- rowMeans(y, na.rm = TRUE)
  s[answered < ceiling(0.8 * length(items))] <- NA
  list(scores = unname(s), answered = unname(answered))
}
# Sum prorated to all items (sum of answered x k / answered), same missing rule.
score_sum <- function(x, items, reverse, lo, hi) {
  m <- score_mean(x, items, reverse, lo, hi)
  m$scores <- m$scores * length(items)
  m
}
run <- function(name, x, subscales, lo, hi, score = score_mean) {
  write.csv(x, file.path(fx, paste0(name, ".csv")), row.names = FALSE, na = "NA")
  lapply(names(subscales), function(s) {
    sc <- subscales[[s]]
    c(list(name = s), score(x, sc$items, sc$reverse, lo, hi))
  })
}

out <- list()
# ECR (Brennan, Clark & Shaver 1998): odd items avoidance, even items anxiety; reverse keyed
# 3, 15, 19, 22, 25, 27, 29, 31, 33, 35; 1-7; means.
x <- simulate(150, 36, 1, 7, "ecr")
out$ecr <- run("ecr", x, list(
  avoidance = list(items = seq(1, 35, 2), reverse = c(3, 15, 19, 25, 27, 29, 31, 33, 35)),
  anxiety = list(items = seq(2, 36, 2), reverse = 22)), 1, 7)
# ECR-R (Fraley, Waller & Brennan 2000, items as listed on Fraley's page): 1-18 anxiety,
# 19-36 avoidance; reverse keyed 9, 11, 20, 22, 26-31, 33-36; 1-7; means.
x <- simulate(150, 36, 1, 7, "ecrr")
out[["ecr-r"]] <- run("ecr-r", x, list(
  anxiety = list(items = 1:18, reverse = c(9, 11)),
  avoidance = list(items = 19:36, reverse = c(20, 22, 26:31, 33:36))), 1, 7)
# ECR-RS (Fraley et al. 2011): "The avoidance score can be computed by averaging items 1 - 6,
# while reverse keying items 1, 2, 3, and 4. The anxiety score can be computed by averaging
# items 7 - 9."; 1-7.
x <- simulate(150, 9, 1, 7, "ecrrs")
out[["ecr-rs"]] <- run("ecr-rs", x, list(
  avoidance = list(items = 1:6, reverse = 1:4),
  anxiety = list(items = 7:9, reverse = integer(0))), 1, 7)
# IIP-32 (Horowitz et al. 2000), octants as in the circumplex package's data-raw/iip32.R;
# 0-4; means; no reverse keying.
x <- simulate(150, 32, 0, 4, "iip")
oct <- list(domineering = c(22, 25, 28, 30), vindictive = c(14, 16, 17, 18), cold = c(10, 11, 13, 15),
            socially_inhibited = c(2, 5, 9, 19), nonassertive = c(4, 6, 7, 12),
            overly_accommodating = c(1, 8, 20, 31), self_sacrificing = c(23, 26, 27, 32),
            intrusive = c(3, 21, 24, 29))
out[["iip-32"]] <- run("iip-32", x, lapply(oct, function(i) list(items = i, reverse = integer(0))), 0, 4)

# WAI-SR (Hatcher & Gillaspy 2006): task 1, 2, 10, 12; bond 3, 5, 7, 9; goal 4, 6, 8, 11;
# total of all 12; 1-5; sums; no reverse keying.
x <- simulate(150, 12, 1, 5, "waisr")
none <- integer(0)
out[["wai-sr"]] <- run("wai-sr", x, list(
  task = list(items = c(1, 2, 10, 12), reverse = none), bond = list(items = c(3, 5, 7, 9), reverse = none),
  goal = list(items = c(4, 6, 8, 11), reverse = none), total = list(items = 1:12, reverse = none)),
  1, 5, score_sum)

# DERS-16 (Bjureberg et al. 2016): clarity 1, 2; goals 3, 7, 15; impulse 4, 8, 11;
# strategies 5, 6, 12, 14, 16; nonacceptance 9, 10, 13; total of all 16; 1-5; sums; no
# reverse keying. (Simulated after the WAI-SR so that the earlier fixtures stay as they were.)
wai_x <- x
x <- simulate(150, 16, 1, 5, "ders")
out[["ders-16"]] <- run("ders-16", x, list(
  clarity = list(items = c(1, 2), reverse = none), goals = list(items = c(3, 7, 15), reverse = none),
  impulse = list(items = c(4, 8, 11), reverse = none),
  strategies = list(items = c(5, 6, 12, 14, 16), reverse = none),
  nonacceptance = list(items = c(9, 10, 13), reverse = none), total = list(items = 1:16, reverse = none)),
  1, 5, score_sum)
x <- wai_x

# The WAI-SR task items of this simulated sample barely correlate: psych's one-factor
# principal-axis solution is an ultra-Heywood case (a communality far above 1), for which psych
# warns and prints an omega total above 1; securebase reports no omega and names the item.
suppressPackageStartupMessages(library(psych))
y <- na.omit(as.data.frame(x)[, c(1, 2, 10, 12)])
R <- cor(y)
f <- suppressWarnings(fa(R, 1, fm = "pa", max.iter = 100000, min.err = 1e-14, n.obs = nrow(y)))
heywood <- list(subscale = "task", n_complete = nrow(y), communality = unname(f$communality),
                items = colnames(y), omega_psych = 1 - sum(1 - f$communality) / sum(R))

write_json(out, file.path(fx, "scores.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
write_json(heywood, file.path(fx, "heywood.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
