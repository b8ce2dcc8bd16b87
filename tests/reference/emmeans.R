# Reference values for estimated marginal means, contrasts, trends and type III F tests
# (tests/emmeans_reference.rs): emmeans 1.8 and lmerTest 3.1 on lme4 fits, written to
# tests/fixtures/emmeans/. Run from the repository root: Rscript tests/reference/emmeans.R
#
# trial.csv is SIMULATED here (seeded): clients in therapists, three conditions, an early and a
# late phase with unequal numbers of sessions (so equal and proportional weights differ), and a
# baseline covariate. Every model is fitted to convergence (tight nloptwrap tolerances): lme4's
# defaults stop ~1e-6 short of the optimum, which would show in the sixth digit of an SE.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(emmeans); library(jsonlite)
})
fx <- "tests/fixtures"
out <- file.path(fx, "emmeans")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
emm_options(lmerTest.limit = 1e5, pbkrtest.limit = 1e5)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_rel = 1e-14, ftol_rel = 1e-15, ftol_abs = 1e-15,
                                    xtol_abs = 1e-14, maxeval = 1e5))

set.seed(20261207)
n_th <- 12; per_th <- 5
th <- rep(sprintf("t%02d", 1:n_th), each = per_th)
client <- sprintf("c%03d", seq_along(th))
condition <- rep(c("cbt", "pdt", "wait"), length.out = length(th))
baseline <- round(rnorm(length(th), 3, 0.7), 2)
u_th <- rnorm(n_th, 0, 0.4); names(u_th) <- sprintf("t%02d", 1:n_th)
u_cl <- rnorm(length(th), 0, 0.6)
rows <- list()
for (i in seq_along(th)) {
  n_early <- sample(2:4, 1); n_late <- sample(1:6, 1)
  ph <- c(rep("early", n_early), rep("late", n_late))
  eff <- c(cbt = -0.5, pdt = -0.3, wait = 0)[condition[i]]
  mu <- 2 + 0.4 * baseline[i] + u_th[th[i]] + u_cl[i] +
    ifelse(ph == "late", -0.4 + eff, 0) + 0.1 * (condition[i] == "pdt")
  rows[[i]] <- data.frame(therapist = th[i], client = client[i], condition = condition[i],
                          phase = ph, baseline = baseline[i],
                          y = round(mu + rnorm(length(ph), 0, 0.5), 3))
}
trial <- do.call(rbind, rows)
write.csv(trial, file.path(out, "trial.csv"), row.names = FALSE)
trial <- read.csv(file.path(out, "trial.csv"))
trial$condition <- factor(trial$condition); trial$phase <- factor(trial$phase)

num <- function(x) unname(as.numeric(x))
# emmeans names the limits asymp.LCL / asymp.UCL and the statistic z.ratio for infinite df.
lcl <- function(s) if (is.null(s$lower.CL)) s$asymp.LCL else s$lower.CL
ucl <- function(s) if (is.null(s$upper.CL)) s$asymp.UCL else s$upper.CL
emm_list <- function(e) {
  s <- as.data.frame(summary(e, infer = c(TRUE, TRUE)))
  list(estimate = num(s[[which(names(s) %in% c("emmean", "prediction", "estimate") |
                                 grepl("\\.trend$", names(s)))[1]]]),
       se = num(s$SE), df = num(s$df), lower = num(lcl(s)), upper = num(ucl(s)),
       t = num(if (is.null(s$t.ratio)) s$z.ratio else s$t.ratio), p = num(s$p.value))
}
con_list <- function(cn) {
  s <- as.data.frame(summary(cn, infer = c(TRUE, TRUE)))
  list(label = as.character(s$contrast), estimate = num(s$estimate), se = num(s$SE),
       df = num(s$df), t = num(s$t.ratio), p = num(s$p.value),
       lower = num(s$lower.CL), upper = num(s$upper.CL))
}
aov_list <- function(a) {
  list(term = rownames(a), sum_sq = num(a[["Sum Sq"]]), mean_sq = num(a[["Mean Sq"]]),
       num_df = num(a$NumDF), den_df = num(a$DenDF), f = num(a[["F value"]]),
       p = num(a[["Pr(>F)"]]))
}

res <- list()

# 1. The trial: condition × phase with a baseline covariate, clients in therapists.
m1 <- lmer(y ~ condition * phase + baseline + (1 | therapist) + (1 | client), trial,
           control = tight)
res$m1 <- list(theta = num(getME(m1, "theta")), sigma = sigma(m1), beta = num(fixef(m1)))
e_sat <- emmeans(m1, ~ condition, lmer.df = "satterthwaite")
e_kr <- emmeans(m1, ~ condition, lmer.df = "kenward-roger")
e_asy <- emmeans(m1, ~ condition, lmer.df = "asymptotic")
e_prop <- emmeans(m1, ~ condition, lmer.df = "satterthwaite", weights = "proportional")
res$m1$emm_sat <- emm_list(e_sat)
res$m1$emm_kr <- emm_list(e_kr)
res$m1$emm_asy <- emm_list(e_asy)
res$m1$emm_prop <- emm_list(e_prop)
res$m1$pairs_tukey <- con_list(pairs(e_sat, adjust = "tukey"))
res$m1$pairs_holm <- con_list(pairs(e_sat, adjust = "holm"))
res$m1$pairs_bonferroni <- con_list(pairs(e_sat, adjust = "bonferroni"))
res$m1$pairs_none <- con_list(pairs(e_sat, adjust = "none"))
res$m1$pairs_kr_tukey <- con_list(pairs(e_kr, adjust = "tukey"))
res$m1$trt_holm <- con_list(contrast(e_sat, "trt.vs.ctrl", adjust = "holm"))
res$m1$custom <- con_list(contrast(e_sat, list(active_vs_wait = c(0.5, 0.5, -1),
                                               cbt_vs_pdt = c(1, -1, 0)), adjust = "none"))
e_by <- emmeans(m1, ~ condition | phase, lmer.df = "satterthwaite")
res$m1$emm_by <- emm_list(e_by)
res$m1$pairs_by_tukey <- con_list(pairs(e_by, adjust = "tukey"))
e_cells <- emmeans(m1, ~ condition * phase, lmer.df = "satterthwaite")
res$m1$emm_cells <- emm_list(e_cells)
res$m1$pairs_cells_tukey <- con_list(pairs(e_cells, adjust = "tukey"))
e_at <- emmeans(m1, ~ phase, at = list(baseline = 4), lmer.df = "kenward-roger")
res$m1$emm_at_kr <- emm_list(e_at)
res$m1$anova_sat <- aov_list(anova(m1, type = 3, ddf = "Satterthwaite"))
res$m1$anova_kr <- aov_list(anova(m1, type = 3, ddf = "Kenward-Roger"))

# 2. A covariate interacting with a factor: the slope of baseline by condition, and type III
#    tests where the condition main effect is at baseline = 0.
m2 <- lmer(y ~ condition * baseline + phase + (1 | client), trial, control = tight)
res$m2 <- list(theta = num(getME(m2, "theta")), sigma = sigma(m2))
t_sat <- emtrends(m2, ~ condition, var = "baseline", lmer.df = "satterthwaite")
t_kr <- emtrends(m2, ~ condition, var = "baseline", lmer.df = "kenward-roger")
res$m2$trend_sat <- emm_list(t_sat)
res$m2$trend_kr <- emm_list(t_kr)
res$m2$trend_pairs_holm <- con_list(pairs(t_sat, adjust = "holm"))
res$m2$emm_sat <- emm_list(emmeans(m2, ~ condition, lmer.df = "satterthwaite"))
res$m2$anova_sat <- aov_list(anova(m2, type = 3, ddf = "Satterthwaite"))
res$m2$anova_kr <- aov_list(anova(m2, type = 3, ddf = "Kenward-Roger"))

# 3. Orthodont: age × Sex with correlated random intercepts and slopes.
orth <- read.csv(file.path(fx, "orthodont.csv"))
orth$Sex <- factor(orth$Sex)
m3 <- lmer(distance ~ age * Sex + (age | Subject), orth, control = tight)
res$m3 <- list(theta = num(getME(m3, "theta")), sigma = sigma(m3))
res$m3$emm_sat <- emm_list(emmeans(m3, ~ Sex, lmer.df = "satterthwaite"))
res$m3$emm_at <- emm_list(emmeans(m3, ~ Sex | age, at = list(age = c(8, 14)),
                                  lmer.df = "satterthwaite"))
res$m3$trend_kr <- emm_list(emtrends(m3, ~ Sex, var = "age", lmer.df = "kenward-roger"))
res$m3$anova_sat <- aov_list(anova(m3, type = 3, ddf = "Satterthwaite"))
res$m3$anova_kr <- aov_list(anova(m3, type = 3, ddf = "Kenward-Roger"))

# 4. The studentized range distribution behind Tukey's adjustment (R's ptukey / qtukey).
grid <- expand.grid(q = c(0.5, 1.7, 3.2, 4.4, 6), k = c(2, 3, 6, 15), df = c(2, 5, 24.3, 333, Inf))
grid$p_upper <- ptukey(grid$q, grid$k, grid$df, lower.tail = FALSE)
qg <- expand.grid(p = c(0.9, 0.95, 0.99), k = c(2, 3, 6, 15), df = c(3, 24.3, 333, Inf))
qg$q <- qtukey(qg$p, qg$k, qg$df)
res$ptukey <- list(q = grid$q, k = grid$k, df = ifelse(is.finite(grid$df), grid$df, -1),
                   p_upper = grid$p_upper)
res$qtukey <- list(p = qg$p, k = qg$k, df = ifelse(is.finite(qg$df), qg$df, -1), q = qg$q)

write_json(res, file.path(out, "reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out, "reference.json"), "\n")
