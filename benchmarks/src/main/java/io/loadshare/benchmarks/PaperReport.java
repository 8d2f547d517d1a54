package io.loadshare.benchmarks;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Turns a {@code dev/bench-paper} run's raw.csv into report.md and PNG charts (JFreeChart): medians over the
 * measured rounds (round 0 warms up; a round that found the machine busy before or after it is left out; with
 * none left, nothing is reported), ratios computed within each round and then their median, CPU utilisation (the
 * paper's Table 2) and CPU-seconds per 1,000 connections, and the paper's own figures beside ours.
 *
 * <p>Usage: {@code PaperReport RESULTS_DIR}
 */
public final class PaperReport {
    private static final double BUSY_LIMIT = 0.10;
    private static final List<String> WORKLOADS = List.of("0kb", "2kb", "mix", "cgi");

    /** One line of raw.csv. */
    record Run(int round, double busy, String config, String workload, double connPerSecond, double bytesPerSecond,
            double latencyMean, double latencyP99, long errors, double seconds, double cpuCore0, double cpuClusterCore,
            double cpuMachine, double cpuDispatcher, double cpuBackends) {
        static Run parse(String line) {
            String[] f = line.split(",");
            return new Run(Integer.parseInt(f[0]), Double.parseDouble(f[1]), f[2], f[3], Double.parseDouble(f[4]),
                    Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]), Long.parseLong(f[8]),
                    Double.parseDouble(f[9]), Double.parseDouble(f[10]), Double.parseDouble(f[11]),
                    Double.parseDouble(f[12]), Double.parseDouble(f[13]), Double.parseDouble(f[14]));
        }

        double connections() {
            return connPerSecond * seconds;
        }

        /** Every core's busy time per 1,000 connections. */
        double machineCpuPerThousand() {
            return connections() == 0 ? 0 : cpuMachine / connections() * 1000;
        }
    }

    private PaperReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        List<Run> all = Files.readAllLines(dir.resolve("raw.csv")).stream().skip(1).map(Run::parse).toList();
        List<Run> runs = all.stream().filter(r -> r.round() > 0 && r.busy() <= BUSY_LIMIT).toList();
        StringBuilder md = new StringBuilder("# Paper suite: results\n\n```\n")
                .append(Files.readString(dir.resolve("machine.txt"))).append("```\n\n");
        Set<Integer> busyRounds = new LinkedHashSet<>();
        all.stream().filter(r -> r.round() > 0 && r.busy() > BUSY_LIMIT).forEach(r -> busyRounds.add(r.round()));
        if (!busyRounds.isEmpty()) {
            md.append("**Warning:** rounds ").append(busyRounds).append(" found the machine busy before or after them and are left out.\n\n");
        }
        if (runs.isEmpty()) {
            md.append("**No round was measured on an idle machine: nothing is reported.**\n");
            Files.writeString(dir.resolve("report.md"), md);
            System.err.println("WARNING: every round found the machine busy; refusing to report (see "
                    + dir.resolve("report.md") + ")");
            return;
        }
        List<String> configs = runs.stream().map(Run::config).distinct().toList();
        List<String> workloads = WORKLOADS.stream().filter(w -> runs.stream().anyMatch(r -> r.workload().equals(w)))
                .toList();
        long rounds = runs.stream().mapToInt(Run::round).distinct().count();
        md.append("Medians of ").append(rounds).append(" round(s); round 0 warmed up and is not counted.\n\n");

        table(md, "Connection rate (connections/s, one request per connection; the paper's Figures 5-10)", runs,
                configs, workloads, Run::connPerSecond, "%,.0f");
        table(md, "Throughput (Mbit/s of responses; Figures 11-12)", runs, configs, workloads,
                r -> r.bytesPerSecond() * 8 / 1e6, "%,.1f");
        table(md, "Mean response time (ms; Figures 13-14)", runs, configs, workloads, Run::latencyMean, "%.2f");
        table(md, "p99 response time (ms)", runs, configs, workloads, Run::latencyP99, "%.2f");
        table(md, "Failed requests (sum over rounds)", runs, configs, workloads, r -> r.errors(), "%.0f");
        table(md, "Dispatcher CPU utilisation (% of one core, the loadshare process; the paper's Table 2)", runs,
                configs.stream().filter(c -> c.startsWith("l")).toList(), workloads,
                r -> r.cpuDispatcher() / r.seconds() * 100, "%.0f");
        table(md, "Backend CPU utilisation (% of one core, all servers' processes together; Table 2)", runs, configs,
                workloads, r -> r.cpuBackends() / r.seconds() * 100, "%.0f");
        table(md, "Core 0 busy (% of the core: the client, wrk, and its kernel work)", runs, configs, workloads,
                r -> r.cpuCore0() / r.seconds() * 100, "%.0f");
        table(md, "Cluster core busy (% of the last core: dispatcher, servers and their kernel work)", runs, configs,
                workloads, r -> r.cpuClusterCore() / r.seconds() * 100, "%.0f");
        table(md, "Machine CPU-seconds per 1,000 connections (every core, user and kernel)", runs, configs, workloads,
                Run::machineCpuPerThousand, "%.3f");
        table(md, "Dispatcher CPU-seconds per 1,000 connections, user space and kernel alike (machine CPU per 1,000"
                + " connections minus the direct configuration's, within each round)", runs,
                configs.stream().filter(c -> !c.equals("direct")).toList(), workloads,
                r -> r.machineCpuPerThousand() - runs.stream().filter(d -> d.round() == r.round()
                        && d.workload().equals(r.workload()) && d.config().equals("direct"))
                        .mapToDouble(Run::machineCpuPerThousand).findFirst().orElse(Double.NaN), "%.3f");

        md.append("## Ratios (computed within each round, then the median)\n\n| ratio |");
        workloads.forEach(w -> md.append(' ').append(w).append(" |"));
        md.append("\n|---|").append("---|".repeat(workloads.size())).append('\n');
        Map<String, Map<String, Double>> ratios = new LinkedHashMap<>();
        for (String[] pair : new String[][] {{"l2-3", "l3-3"}, {"l2-1", "direct"}, {"l2-3", "direct"},
            {"l3-3", "direct"}, {"l2-3", "nft-l2-3"}, {"l3-3", "nft-dnat-3"}, {"l2-3.5", "l2-3"}, {"l3-3.5", "l3-3"},
            {"l2-3-offload", "nft-l2-3"}, {"l2-3-offload", "l2-3"}, {"l3-3-offload", "nft-dnat-3"},
            {"l3-3-offload", "l3-3"}, {"l2-3-ring2", "nft-l2-3"}, {"l2-3-ring2", "l2-3"},
            {"l3-3-ring2", "nft-dnat-3"}, {"l3-3-ring2", "l3-3"}, {"l2-3-ring3", "l2-3"}, {"l3-3-ring3", "l3-3"}}) {
            if (pair[0].contains("-ring") && !configs.contains(pair[0])) {
                continue;
            }
            Map<String, Double> byWorkload = new LinkedHashMap<>();
            md.append("| ").append(pair[0]).append(" / ").append(pair[1]).append(" |");
            for (String w : workloads) {
                double ratio = ratio(runs, pair[0], pair[1], w);
                byWorkload.put(w, ratio);
                md.append(Double.isNaN(ratio) ? " - |" : String.format(Locale.ROOT, " %.2f |", ratio));
            }
            ratios.put(pair[0] + "/" + pair[1], byWorkload);
            md.append('\n');
        }
        md.append('\n');
        conclusions(md, ratios, runs);

        for (String w : workloads) {
            chart(dir, "conn-rate-" + w, "Connection rate, " + w, "connections/s", runs, configs, w,
                    Run::connPerSecond);
            chart(dir, "throughput-" + w, "Throughput, " + w, "Mbit/s", runs, configs, w,
                    r -> r.bytesPerSecond() * 8 / 1e6);
            chart(dir, "response-time-" + w, "Mean response time, " + w, "ms", runs, configs, w, Run::latencyMean);
        }
        DefaultCategoryDataset half = new DefaultCategoryDataset();
        for (String w : workloads) {
            for (String c : List.of("l2-3", "l2-3.5", "l3-3", "l3-3.5")) {
                double v = median(runs, c, w, Run::connPerSecond);
                if (!Double.isNaN(v)) {
                    half.addValue(v, c, w);
                }
            }
        }
        write(dir, "three-and-a-half", ChartFactory.createBarChart("3 servers vs 3.5 (Figures 15-16)", "workload",
                "connections/s", half, PlotOrientation.VERTICAL, true, false, false));
        md.append("## Charts\n\n");
        for (String w : workloads) {
            md.append("![conn-rate-").append(w).append("](conn-rate-").append(w).append(".png)\n")
                    .append("![throughput-").append(w).append("](throughput-").append(w).append(".png)\n")
                    .append("![response-time-").append(w).append("](response-time-").append(w).append(".png)\n\n");
        }
        md.append("![three-and-a-half](three-and-a-half.png)\n");
        Files.writeString(dir.resolve("report.md"), md);
        System.out.print(md);
    }

    private static void conclusions(StringBuilder md, Map<String, Map<String, Double>> ratios, List<Run> runs) {
        md.append("""
                ## The paper's numbers and whether its conclusions hold here

                The paper (266 MHz Pentium II, 100 Mbit/s switched Ethernet, WebStone with 42 clients) measured for
                small files about **1,800 conn/s for LSMAC, 900 for LSNAT and 700 for a single server**, about 800
                (LSMAC) and 200 (LSNAT) conn/s with the 108.5 KB mix, and **LSMAC at least twice LSNAT in every case but
                CGI**, where the servers are the bottleneck and both dispatchers do about as well. It found the 3.5
                cluster worse than 3 servers except, nominally, for CGI.

                """);
        Map<String, Double> macNat = ratios.get("l2-3/l3-3");
        for (Map.Entry<String, Double> e : macNat.entrySet()) {
            if (Double.isNaN(e.getValue())) {
                continue;
            }
            boolean cgi = e.getKey().equals("cgi");
            boolean holds = cgi ? e.getValue() > 0.8 && e.getValue() < 1.25 : e.getValue() >= 2;
            md.append(String.format(Locale.ROOT, "- %s: LSMAC/LSNAT with 3 servers = %.2f; the paper's \"%s\" %s.%n",
                    e.getKey(), e.getValue(), cgi ? "about equal for CGI" : "at least twice",
                    holds ? "**holds**" : "**does not hold**"));
        }
        for (String mode : List.of("l2", "l3")) {
            for (Map.Entry<String, Double> e : ratios.get(mode + "-3.5/" + mode + "-3").entrySet()) {
                if (!Double.isNaN(e.getValue())) {
                    boolean cgi = e.getKey().equals("cgi");
                    md.append(String.format(Locale.ROOT, "- %s %s: 3.5 / 3 servers = %.2f; the paper's \"%s\" %s.%n",
                            mode.equals("l2") ? "LSMAC" : "LSNAT", e.getKey(), e.getValue(),
                            cgi ? "3.5 nominally better for CGI" : "3.5 is worse",
                            (cgi ? e.getValue() >= 1 : e.getValue() < 1) ? "**holds**" : "**does not hold**"));
                }
            }
        }
        for (Map.Entry<String, Double> e : ratios.get("l2-3/direct").entrySet()) {
            if (!Double.isNaN(e.getValue())) {
                md.append(String.format(Locale.ROOT, "- %s: LSMAC 3 servers / single server = %.2f; clustering %s.%n",
                        e.getKey(), e.getValue(), e.getValue() > 1 ? "**adds capacity**" : "**adds no capacity** here"));
            }
        }
        md.append('\n');
    }

    private static void table(StringBuilder md, String title, List<Run> runs, List<String> configs,
            List<String> workloads, ToDoubleFunction<Run> metric, String format) {
        md.append("## ").append(title).append("\n\n| configuration |");
        workloads.forEach(w -> md.append(' ').append(w).append(" |"));
        md.append("\n|---|").append("---:|".repeat(workloads.size())).append('\n');
        for (String c : configs) {
            md.append("| ").append(c).append(" |");
            for (String w : workloads) {
                double v = median(runs, c, w, metric);
                md.append(Double.isNaN(v) ? " - |" : " " + String.format(Locale.ROOT, format, v) + " |");
            }
            md.append('\n');
        }
        md.append('\n');
    }

    static double median(List<Run> runs, String config, String workload, ToDoubleFunction<Run> metric) {
        double[] values = runs.stream().filter(r -> r.config().equals(config) && r.workload().equals(workload))
                .mapToDouble(metric).filter(v -> !Double.isNaN(v)).sorted().toArray();
        if (values.length == 0) {
            return Double.NaN;
        }
        int mid = values.length / 2;
        return values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    /** The median over rounds of {@code a}'s connection rate divided by {@code b}'s in the same round. */
    static double ratio(List<Run> runs, String a, String b, String workload) {
        List<Run> perRound = new ArrayList<>();
        for (Run ra : runs) {
            if (!ra.config().equals(a) || !ra.workload().equals(workload)) {
                continue;
            }
            runs.stream().filter(rb -> rb.config().equals(b) && rb.workload().equals(workload)
                    && rb.round() == ra.round() && rb.connPerSecond() > 0).findFirst()
                    .ifPresent(rb -> perRound.add(new Run(ra.round(), 0, "ratio", workload,
                            ra.connPerSecond() / rb.connPerSecond(), 0, 0, 0, 0, 1, 0, 0, 0, 0, 0)));
        }
        return median(perRound, "ratio", workload, Run::connPerSecond);
    }

    private static void chart(Path dir, String name, String title, String axis, List<Run> runs, List<String> configs,
            String workload, ToDoubleFunction<Run> metric) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (String c : configs) {
            double v = median(runs, c, workload, metric);
            if (!Double.isNaN(v)) {
                data.addValue(v, workload, c);
            }
        }
        write(dir, name, ChartFactory.createBarChart(title, "configuration", axis, data, PlotOrientation.VERTICAL,
                false, false, false));
    }

    static void write(Path dir, String name, JFreeChart chart) throws IOException {
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(dir.resolve(name + ".png").toFile(), chart, 900, 450);
    }
}
