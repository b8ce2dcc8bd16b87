# R's times for benches/variance.rs: lme4's profile intervals and a parametric bootstrap of 200
# refits of the study's moderator model. The data are the columns the model reads, as the
# crate's fit serializes them (write them with the snippet in benches/variance.rs's docs).
# Run: Rscript benches/variance_lme4.R /tmp/moderation.csv
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- autonomy ~ session + esat_anx_wc + ecr_anx * esat_anx_cm + (session | client) + (1 | therapist)
m <- lmer(f, d)
print(getME(m, "theta"))
t_fit <- median(sapply(1:5, function(i) system.time(lmer(f, d))[["elapsed"]]))
t_prof <- system.time(ci <- confint(m, method = "profile"))[["elapsed"]]
print(ci)
t_boot <- system.time(b <- bootMer(m, function(f) c(sigma(f), getME(f, "theta")), nsim = 200,
                                   seed = 1))[["elapsed"]]
cat(sprintf("lme4 %s: fit %.3f s, confint(method = 'profile') %.2f s, bootMer(nsim = 200) %.2f s\n",
            packageVersion("lme4"), t_fit, t_prof, t_boot))
