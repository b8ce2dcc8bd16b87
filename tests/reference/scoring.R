# Reliability references from R's psych on its bfi data (tests/scoring_reference.rs).
# Run from this folder:  Rscript scoring.R   (R 4.2.2, psych 2.2.9)
# Keys follow psych's documentation of bfi (reverse-keyed items marked with '-'); items are
# reversed on the theoretical 1-6 range (7 - x) before psych sees them, so psych's own
# check.keys plays no part.
suppressPackageStartupMessages({library(psych); library(jsonlite)})
fx <- "../fixtures"
data(bfi)
items <- bfi[, 1:25]
write.csv(items, file.path(fx, "bfi.csv"), row.names = FALSE, na = "NA")
keys <- list(agree = c("-A1", "A2", "A3", "A4", "A5"), conscientious = c("C1", "C2", "C3", "-C4", "-C5"),
             extraversion = c("-E1", "-E2", "E3", "E4", "E5"), neuroticism = c("N1", "N2", "N3", "N4", "N5"),
             openness = c("O1", "-O2", "O3", "O4", "-O5"))
out <- lapply(names(keys), function(nm) {
  k <- keys[[nm]]; cols <- sub("^-", "", k)
  x <- items[, cols]
  for (j in seq_along(k)) if (startsWith(k[j], "-")) x[, j] <- 7 - x[, j]
  pw <- alpha(x, check.keys = FALSE)                 # pairwise (psych's default)
  cc <- alpha(na.omit(x), check.keys = FALSE)        # complete cases
  # One-factor ULS (minres) solution iterated to convergence: principal axes with a tight
  # tolerance converge to the same fixed point; omega_total = 1 - sum(u2) / sum(R).
  Rcc <- cor(na.omit(x))
  f <- fa(Rcc, nfactors = 1, fm = "pa", max.iter = 100000, min.err = 1e-14, n.obs = nrow(na.omit(x)))
  omega_t <- 1 - sum(1 - f$communality) / sum(Rcc)
  om <- suppressWarnings(omega(Rcc, nfactors = 1, plot = FALSE, n.obs = nrow(na.omit(x))))
  n_cc <- nrow(na.omit(x))
  list(name = nm, items = cols, reverse = sub("^-", "", k[startsWith(k, "-")]),
       pairwise = list(raw_alpha = pw$total$raw_alpha, std_alpha = pw$total$std.alpha,
                       r_drop = unname(pw$item.stats$r.drop), alpha_if_deleted = unname(pw$alpha.drop$raw_alpha),
                       item_mean = unname(pw$item.stats$mean), item_sd = unname(pw$item.stats$sd)),
       complete = list(n = n_cc, raw_alpha = cc$total$raw_alpha, std_alpha = cc$total$std.alpha,
                       r_drop = unname(cc$item.stats$r.drop), alpha_if_deleted = unname(cc$alpha.drop$raw_alpha),
                       ase = cc$total$ase, feldt = unname(alpha.ci(cc$total$raw_alpha, n_cc, n.var = length(cols), digits = 12)[c(1, 3)]),
                       duhachek = unname(cc$total$raw_alpha + c(-1, 1) * qnorm(0.975) * cc$total$ase)),
       omega_total = omega_t, omega_psych = om$omega.tot,
       mean_scores_head = unname(head(rowMeans(x, na.rm = TRUE), 20)),
       mean_scores_sum = sum(rowMeans(x, na.rm = TRUE), na.rm = TRUE))
})
write_json(out, file.path(fx, "psych_bfi.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
