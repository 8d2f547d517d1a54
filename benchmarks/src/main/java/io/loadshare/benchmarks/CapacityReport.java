package io.loadshare.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Turns a {@code dev/bench-capacity} run's raw.csv into report.md and capacity.png: per dispatcher, the highest
 * connection rate forwarded with at most {@value #LOSS_LIMIT} % of the frames lost (the median over rounds), the
 * packets per second there, the ratio to the in-kernel nftables dispatcher of the same layer and the dispatcher
 * core's time per connection. A search that ended because the generator could not keep the pace gives a lower
 * bound, marked "≥" (and a ratio to it an upper bound, "≤").
 *
 * <p>Usage: {@code CapacityReport RESULTS_DIR}
 */
public final class CapacityReport {
    private static final double LOSS_LIMIT = 0.1;

    /** One step of raw.csv. */
    record Step(int round, String dispatcher, int framesPerConnection, int rate, double lossPercent,
            boolean generatorKeptUp, double core1Busy, double core1MicrosPerConnection) {
        static Step parse(String line) {
            String[] f = line.split(",");
            return new Step(Integer.parseInt(f[0]), f[1], Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    Double.parseDouble(f[6]), f[11].equals("yes"), Double.parseDouble(f[12]),
                    Double.parseDouble(f[13]));
        }

        boolean passed() {
            return generatorKeptUp && lossPercent <= LOSS_LIMIT;
        }
    }

    /** A dispatcher's result in one round: its best passing step, and whether the generator was the limit. */
    record Capacity(Step best, boolean atLeast) {
        double packetsPerSecond() {
            return (double) best.rate() * best.framesPerConnection();
        }
    }

    private CapacityReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        List<Step> steps = Files.readAllLines(dir.resolve("raw.csv")).stream().skip(1).map(Step::parse)
                .filter(s -> !s.dispatcher().endsWith("-warm-up")).toList();
        Set<String> dispatchers = new LinkedHashSet<>();
        steps.forEach(s -> dispatchers.add(s.dispatcher()));

        StringBuilder md = new StringBuilder("# Dispatcher capacity on one core\n\n");
        md.append(Files.readString(dir.resolve("machine.txt")).lines().map(l -> "- " + l + "\n")
                .reduce("", String::concat)).append('\n');
        md.append("| dispatcher | frames a connection | capacity (connections/s, ≤ 0.1 % lost) | rounds (lowest–highest)"
                + " | packets/s there | vs nftables | core 1 busy there | core 1 µs a connection |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        DefaultCategoryDataset chart = new DefaultCategoryDataset();
        for (String d : dispatchers) {
            Optional<Capacity> capacity = median(steps, d);
            if (capacity.isEmpty()) {
                md.append("| ").append(d).append(" | | < 10,000: loss at the first step | | | | | |\n");
                continue;
            }
            Capacity c = capacity.get();
            Optional<Capacity> kernel = median(steps, kernelOf(d));
            List<Capacity> rounds = rounds(steps, d);
            md.append(String.format(Locale.ROOT, "| %s | %d | %s%,d | %,d–%,d | %,.0f | %s | %.0f %% | %.2f |%n", d,
                    c.best().framesPerConnection(), c.atLeast() ? "≥ " : "", c.best().rate(),
                    rounds.getFirst().best().rate(), rounds.getLast().best().rate(), c.packetsPerSecond(),
                    kernel.isEmpty() || kernelOf(d).equals(d) ? "" : String.format(Locale.ROOT, "%s%.2f",
                            kernel.get().atLeast() ? "≤ " : "", (double) c.best().rate() / kernel.get().best().rate()),
                    100 * c.best().core1Busy(), c.best().core1MicrosPerConnection()));
            chart.addValue(c.best().rate(), "capacity", d);
        }
        md.append("\n![capacity](capacity.png)\n");
        Files.writeString(dir.resolve("report.md"), md);
        PaperReport.write(dir, "capacity", ChartFactory.createBarChart(
                "Short TCP connections forwarded on one core, at most 0.1 % of frames lost", "dispatcher",
                "connections/s", chart, PlotOrientation.VERTICAL, false, false, false));
        System.out.print(md);
    }

    /** The in-kernel dispatcher a dispatcher is compared with: nftables of the same layer. */
    static String kernelOf(String dispatcher) {
        return dispatcher.startsWith("l3") || dispatcher.equals("nft-dnat") ? "nft-dnat" : "nft-l2";
    }

    /** The median round's capacity of a dispatcher; empty when no round had a passing step. */
    static Optional<Capacity> median(List<Step> steps, String dispatcher) {
        List<Capacity> rounds = rounds(steps, dispatcher);
        return rounds.isEmpty() ? Optional.empty() : Optional.of(rounds.get(rounds.size() / 2));
    }

    /** A dispatcher's capacity in each round that had a passing step, lowest first. */
    private static List<Capacity> rounds(List<Step> steps, String dispatcher) {
        return steps.stream().filter(s -> s.dispatcher().equals(dispatcher)).map(Step::round).distinct()
                .map(r -> capacity(steps, dispatcher, r)).flatMap(Optional::stream)
                .sorted(Comparator.comparingInt(c -> c.best().rate())).toList();
    }

    private static Optional<Capacity> capacity(List<Step> steps, String dispatcher, int round) {
        List<Step> mine = steps.stream().filter(s -> s.dispatcher().equals(dispatcher) && s.round() == round).toList();
        boolean generatorLimited = mine.stream().anyMatch(s -> !s.generatorKeptUp() && s.lossPercent() <= LOSS_LIMIT);
        return mine.stream().filter(Step::passed).max(Comparator.comparingInt(Step::rate))
                .map(best -> new Capacity(best, generatorLimited));
    }
}
