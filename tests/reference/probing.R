# References for probing at the moderator's level and for slopes over grids
# (tests/probing_reference.rs): lmerTest::contest for simple slopes, uniroot for the
# Johnson–Neyman boundaries with the Satterthwaite df at each boundary, shares over clients, and
# emmeans::emtrends (lmer.df = "satterthwaite") for categorical, three-way and growth designs.
# Run from this folder:  Rscript probing.R
#   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, emmeans 1.8.x, jsonlite)
suppressPackageStartupMessages({library(lmerTest); library(emmeans); library(jsonlite)})
fx <- "../fixtures/mlmed"
d <- read.csv(file.path(fx, "sessions.csv"))
d$stage <- ifelse(d$session <= 5, "early", ifelse(d$session <= 10, "middle", "late"))
write.csv(d, file.path(fx, "probing.csv"), row.names = FALSE, na = "NA")
d <- read.csv(file.path(fx, "probing.csv"), stringsAsFactors = TRUE)
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 10000)

# 1. A client-level moderator in session-level data.
m <- lmer(engage ~ secure * anx + session + (1 | client) + (1 | therapist), d)
used <- d[complete.cases(d[, c("engage", "secure", "anx", "session", "client", "therapist")]), ]
anx_clients <- used$anx[!duplicated(used$client)]
mu <- mean(anx_clients); s <- sd(anx_clients)
b <- fixef(m); nm <- names(b)
L <- function(w) { l <- setNames(rep(0, length(b)), nm); l["secure"] <- 1; l["secure:anx"] <- w; l }
slope <- function(w) { ct <- contest(m, L(w), joint = FALSE); list(at = w, slope = ct$Estimate,
  se = ct[["Std. Error"]], df = ct$df, t = ct[["t value"]], p = ct[["Pr(>|t|)"]]) }
slopes <- lapply(c(mu - s, mu, mu + s), slope)
# Johnson–Neyman: |t(w)| = qt(.975, df(w)), each boundary with the df at itself.
f <- function(w) { sl <- slope(w); abs(sl$t) - qt(0.975, sl$df) }
grid <- seq(-200, 200, length.out = 4001)
vals <- sapply(grid, f)
cross <- which(diff(sign(vals)) != 0)
bounds <- sapply(cross, function(i) uniroot(f, c(grid[i], grid[i + 1]), tol = 1e-12)$root)
share <- function(lo, hi) mean(anx_clients >= lo & anx_clients <= hi)
regions <- if (length(bounds) == 2) {
  list(share(-Inf, bounds[1]), share(bounds[1], bounds[2]), share(bounds[2], Inf))
} else list()
level_probe <- list(mean = mu, sd = s, n_clients = length(anx_clients), slopes = slopes,
                    bounds = bounds, shares = regions,
                    row_mean = mean(used$anx), row_sd = sd(used$anx))

em <- function(x) { x <- as.data.frame(x); x }
# 2. A categorical moderator: the slope of secure per stage, and pairwise differences.
m2 <- lmer(engage ~ secure * stage + anx + (1 | client), d)
t2 <- em(emtrends(m2, ~ stage, var = "secure"))
p2 <- em(pairs(emtrends(m2, ~ stage, var = "secure"), adjust = "none"))
categorical <- list(levels = as.character(t2$stage), slope = t2$secure.trend, se = t2$SE, df = t2$df,
                    contrast = as.character(p2$contrast), diff = p2$estimate, diff_se = p2$SE,
                    diff_df = p2$df, diff_p = p2$p.value)
# 3. A three-way interaction: secure's slope at combinations of anxiety and session.
m3 <- lmer(engage ~ secure * anx * session + (1 | client), d)
t3 <- em(emtrends(m3, ~ anx * session, var = "secure", at = list(anx = c(-1, 0, 1), session = c(2, 8, 14))))
three <- list(anx = t3$anx, session = t3$session, slope = t3$secure.trend, se = t3$SE, df = t3$df)
# 4. Growth: the slope of secure at sessions 1, 6 and 12 when it interacts with a quadratic.
m4 <- lmer(engage ~ secure * (session + I(session^2)) + (1 | client), d)
t4 <- em(emtrends(m4, ~ session, var = "secure", at = list(session = c(1, 6, 12))))
growth <- list(session = t4$session, slope = t4$secure.trend, se = t4$SE, df = t4$df)
# 5. OLS with a categorical moderator.
iris_fit <- lm(Sepal.Length ~ Petal.Length * Species, iris)
t5 <- em(emtrends(iris_fit, ~ Species, var = "Petal.Length"))
p5 <- em(pairs(emtrends(iris_fit, ~ Species, var = "Petal.Length"), adjust = "none"))
ols <- list(slope = t5$Petal.Length.trend, se = t5$SE, df = t5$df, contrast = as.character(p5$contrast),
            diff = p5$estimate, diff_se = p5$SE)

writeLines(toJSON(list(level = level_probe, categorical = categorical, three = three, growth = growth, ols = ols),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(fx, "probing.json"))
