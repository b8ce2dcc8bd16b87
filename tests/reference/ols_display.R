# The golden text tests/fixtures/ols_display.txt shows these numbers at fixed decimals.
# Run: Rscript ols_display.R
d <- data.frame(y=c(1,2.5,2.9,NA,5.2,6.1,6.8), x=1:7, g=c("a","b","a","b","a","b","b"))
print(summary(lm(y ~ x + g, d)), digits=5)
