# Completion time vs N for scenario "full", one line per system, with the Kumar–Ross bound F/R.
# Usage: gnuplot -e "datafile='plot.dat'; outfile='plot.png'; subtitle='32 MiB, 12 Mbit/s'" bench/plot.gp
set terminal pngcairo size 900,560 font ",10" noenhanced
set output outfile
set title "Time until all N hosts hold the verified image (".subtitle.")"
set xlabel "hosts N"
set ylabel "seconds (log scale)"
set logscale y
set key top left autotitle columnhead
set datafile missing "?"
set grid
stats datafile skip 1 using 1 nooutput
ncols = STATS_columns
plot datafile using 1:2 with lines dashtype 2 linewidth 2 linecolor rgb "black" title "bound F/R", \
     for [i=3:ncols] datafile using 1:i with linespoints linewidth 2 pointtype 7
