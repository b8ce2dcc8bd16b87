# The study's analysis in R on the embedded cohort, for tests/study.rs.
# Run from this folder:  Rscript study.R   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, psych 2.2.9)
# Scores: mean of answered items after reversing (max + min - x), missing when fewer than
# ceiling(proportion * k) items were answered — the rule written in the key files.
suppressPackageStartupMessages({library(lmerTest); library(psych); library(jsonlite)})
d <- read.csv("../../data/study_cohort.csv", stringsAsFactors = TRUE)
keyfiles <- c("example-ecr", "example-cats", "example-tds", "example-iip_pre", "example-iip_post")
colname <- function(ki, sub) switch(ki, paste0("ecr_", sub), paste0("cats_", sub), sub, "iip_pre", "iip_post")
alphas <- list()
for (ki in 1:5) {
  k <- fromJSON(file.path("../../data/example_keys", paste0(keyfiles[ki], ".json")), simplifyVector = FALSE)
  for (s in k$subscales) {
    items <- unlist(s$items); rev <- unlist(s$reverse)
    x <- d[, items]
    for (r in rev) x[, r] <- k$response_max + k$response_min - x[, r]
    need <- ceiling(s$min_answered$proportion * length(items) - 1e-9)
    sc <- rowMeans(x, na.rm = TRUE); sc[rowSums(!is.na(x)) < need] <- NA
    nm <- colname(ki, s$name); d[[nm]] <- sc
    alphas[[nm]] <- alpha(na.omit(x), check.keys = FALSE)$total$raw_alpha
  }
}
e1 <- lm(cats_secure ~ cats_preocc, d, na.action = na.exclude); d$esat_anx <- as.vector(scale(resid(e1)))
e2 <- lm(cats_secure ~ cats_avoidfear, d, na.action = na.exclude); d$esat_avoid <- as.vector(scale(resid(e2)))
model <- function(f) {
  m <- lmer(f, d); co <- summary(m)$coefficients
  list(nobs = nobs(m), reml = unname(getME(m, "devcomp")$cmp["REML"]), sigma = sigma(m),
       estimate = as.list(co[, 1]), se = as.list(co[, 2]), df = as.list(co[, 3]))
}
outcome <- model(iip_post ~ iip_pre + engagement + esat_anx + (1 | therapist))
mm <- lmer(autonomy ~ ecr_anx * esat_anx + (1 | therapist), d)
moderator <- model(autonomy ~ ecr_anx * esat_anx + (1 | therapist))
w <- model.frame(mm)$ecr_anx
slopes <- lapply(mean(w) + c(-1, 0, 1) * sd(w), function(v) {
  co <- summary(lmer(autonomy ~ I(ecr_anx - v) * esat_anx + (1 | therapist), d))$coefficients["esat_anx", ]
  list(at = v, slope = unname(co[1]), se = unname(co[2]), df = unname(co[3]))
})
cc <- d[complete.cases(d[, c("ecr_anx", "esat_anx", "autonomy", "therapist")]), ]
a <- coef(lm(esat_anx ~ ecr_anx, cc)); by <- coef(lm(autonomy ~ ecr_anx + esat_anx, cc)); ct <- coef(lm(autonomy ~ ecr_anx, cc))
mediation <- list(a = unname(a[2]), b = unname(by[3]), c_prime = unname(by[2]), c = unname(ct[2]), indirect = unname(a[2] * by[3]))
c2 <- d[complete.cases(d[, c("ecr_anx", "esat_anx", "engagement", "iip_pre", "iip_post", "therapist")]), ]
m1 <- coef(lm(esat_anx ~ ecr_anx + iip_pre, c2)); m2 <- coef(lm(engagement ~ ecr_anx + esat_anx + iip_pre, c2))
yy <- coef(lm(iip_post ~ ecr_anx + esat_anx + engagement + iip_pre, c2)); tt <- coef(lm(iip_post ~ ecr_anx + iip_pre, c2))
chain <- list(a1 = unname(m1["ecr_anx"]), a2 = unname(m2["ecr_anx"]), d21 = unname(m2["esat_anx"]), b1 = unname(yy["esat_anx"]),
              b2 = unname(yy["engagement"]), c_prime = unname(yy["ecr_anx"]), c = unname(tt["ecr_anx"]),
              ind12 = unname(m1["ecr_anx"] * m2["esat_anx"] * yy["engagement"]))
write_json(list(alpha = alphas, esat_anx_slope = unname(coef(e1)[2]), esat_avoid_slope = unname(coef(e2)[2]),
                outcome = outcome, moderator = moderator, slopes = slopes, mediation = mediation, chain = chain),
           "../fixtures/study_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
# A printed summary of the R side, committed as tests/fixtures/study_reference_R_output.txt.
sink("../fixtures/study_reference_R_output.txt")
print(summary(lmer(iip_post ~ iip_pre + engagement + esat_anx + (1 | therapist), d)))
print(summary(mm))
sink()
