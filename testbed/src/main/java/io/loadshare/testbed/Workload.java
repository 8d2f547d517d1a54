package io.loadshare.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The four workloads of the paper's section 4: 0 KB files (headers only), 2 KB files (a typical first page), a
 * file mix with the heavy-tailed sizes of a web server's access log and a mean of 108.5 KB, and the same mix made
 * dynamically by a CGI-like program forked for every request.
 *
 * <p>The mix (the paper used an access log from the WebStone site that is no longer served) is generated, with a
 * fixed seed so that every run and every server has the same files: 100 files whose sizes have a lognormal body
 * (90 %, median 4 KB) and a Pareto tail (10 %, shape 1.2, from 30 KB, capped at 5 MB), the shape that web file
 * sizes follow (Crovella and Bestavros; SURGE). Popularity is Zipf's law (the k-th most popular file is requested
 * in proportion to 1/k), assigned to sizes at random. The request sequence holds each file as often as its
 * popularity says, shuffled, and the sizes are then scaled so that the mean over the sequence is 108.5 KB.
 */
public enum Workload {
    ZERO_KB("0kb", "0 KB files"),
    TWO_KB("2kb", "2 KB files"),
    FILE_MIX("mix", "file mix (mean 108.5 KB)"),
    CGI("cgi", "CGI (the mix, one process per request)");

    /** The mean request size of the mix, as the paper gives it: 108.5 KB. */
    public static final long MIX_MEAN_BYTES = Math.round(108.5 * 1024);
    private static final int MIX_FILES = 100;
    private static final int SEQUENCE_LENGTH = 2000;
    private static final long SEED = 1999;

    private final String id;
    private final String title;

    Workload(String id, String title) {
        this.id = id;
        this.title = title;
    }

    /** Short name for command lines and file names. */
    public String id() {
        return id;
    }

    public String title() {
        return title;
    }

    public static Workload byId(String id) {
        for (Workload workload : values()) {
            if (workload.id.equals(id.toLowerCase(Locale.ROOT))) {
                return workload;
            }
        }
        throw new IllegalArgumentException("unknown workload '" + id + "'; expected one of 0kb, 2kb, mix, cgi");
    }

    /** The paths a load generator requests, in order; it cycles through them. */
    public List<String> requests() {
        return switch (this) {
            case ZERO_KB -> List.of("/0k.html");
            case TWO_KB -> List.of("/2k.html");
            case FILE_MIX -> Mix.INSTANCE.sequence.stream().map(i -> "/mix/" + Mix.name(i)).toList();
            case CGI -> Mix.INSTANCE.sequence.stream().map(i -> "/cgi/mix/" + Mix.name(i)).toList();
        };
    }

    /** The mean response body over {@link #requests}, in bytes. */
    public double meanBytes() {
        return switch (this) {
            case ZERO_KB -> 0;
            case TWO_KB -> 2048;
            case FILE_MIX, CGI -> Mix.INSTANCE.sequence.stream().mapToLong(i -> Mix.INSTANCE.sizes[i]).average()
                    .orElseThrow();
        };
    }

    /**
     * Writes every workload's files under {@code root}: 0k.html, 2k.html and mix/f000..f099, and the mix's request
     * sequence, one path per line, as mix.sequence (for load generators other than the project's own).
     */
    public static void writeFiles(Path root) throws IOException {
        Files.createDirectories(root.resolve("mix"));
        Files.write(root.resolve("0k.html"), new byte[0]);
        Files.write(root.resolve("2k.html"), content(2048));
        for (int i = 0; i < MIX_FILES; i++) {
            Files.write(root.resolve("mix").resolve(Mix.name(i)), content(Mix.INSTANCE.sizes[i]));
        }
        Files.write(root.resolve("mix.sequence"), FILE_MIX.requests());
    }

    private static byte[] content(long size) {
        byte[] bytes = new byte[(int) size];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) ('a' + i % 26);
        }
        return bytes;
    }

    /** The generated mix: file sizes, and the request sequence as file numbers. */
    private static final class Mix {
        static final Mix INSTANCE = new Mix();

        final long[] sizes = new long[MIX_FILES];
        final List<Integer> sequence = new ArrayList<>();

        private Mix() {
            Random random = new Random(SEED);
            double[] raw = new double[MIX_FILES];
            for (int i = 0; i < MIX_FILES; i++) {
                raw[i] = random.nextDouble() < 0.9 ? Math.exp(Math.log(4096) + 1.2 * random.nextGaussian())
                        : Math.min(5 * 1024 * 1024, 30 * 1024 / Math.pow(1 - random.nextDouble(), 1 / 1.2));
            }
            List<Integer> byPopularity = new ArrayList<>();
            for (int i = 0; i < MIX_FILES; i++) {
                byPopularity.add(i);
            }
            Collections.shuffle(byPopularity, random);
            double harmonic = 0;
            for (int rank = 1; rank <= MIX_FILES; rank++) {
                harmonic += 1.0 / rank;
            }
            for (int rank = 1; rank <= MIX_FILES; rank++) {
                long copies = Math.max(1, Math.round(SEQUENCE_LENGTH / (rank * harmonic)));
                for (long c = 0; c < copies; c++) {
                    sequence.add(byPopularity.get(rank - 1));
                }
            }
            Collections.shuffle(sequence, random);
            double mean = sequence.stream().mapToDouble(i -> raw[i]).average().orElseThrow();
            for (int i = 0; i < MIX_FILES; i++) {
                sizes[i] = Math.max(1, Math.round(raw[i] * MIX_MEAN_BYTES / mean));
            }
        }

        static String name(int file) {
            return String.format(Locale.ROOT, "f%03d", file);
        }
    }
}
