package io.loadshare.offload;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * The C references of the fast path's programs ({@code offload/src/bpf}), compiled by clang and read back as
 * instructions the project's own loader takes. A clang BPF object is an ELF64 file whose program section holds the
 * instructions and whose relocations name the maps each 64-bit immediate load refers to; nothing else is needed
 * (no BTF, no libbpf), so the reading is done here by hand: sections, symbols, {@code R_BPF_64_64}.
 */
final class BpfObjectFile {
    private static final int SHT_SYMTAB = 2;
    private static final int SHT_REL = 9;
    private static final int R_BPF_64_64 = 1;
    private static final int BPF_LD_IMM64 = 0x18;
    private static final long BPF_PSEUDO_MAP_FD = 1;

    private BpfObjectFile() {
    }

    /**
     * Compiles a C reference with clang for the BPF target. Without clang the test is skipped, except under CI
     * (CI=true), where dev/test installs it, and where it fails instead.
     */
    static Path compile(Path source, Path dir, String... defines) throws IOException, InterruptedException {
        Path clang = Path.of("/usr/bin/clang");
        if (!Files.isExecutable(clang)) {
            String why = "the C reference of the BPF programs needs clang (apt-get install clang libbpf-dev)";
            if ("true".equals(System.getenv("CI"))) {
                fail(why + "; dev/test installs it for CI");
            }
            Assumptions.abort(why);
        }
        Path object = dir.resolve(source.getFileName().toString().replace(".c", ".o"));
        List<String> command = new ArrayList<>(List.of(clang.toString(), "-O2", "-Wall", "-Werror", "-target", "bpf",
                "-I/usr/include/" + multiarch()));
        command.addAll(List.of(defines));
        command.addAll(List.of("-c", source.toString(), "-o", object.toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            fail("clang could not compile " + source + ":\n" + output);
        }
        return object;
    }

    /** Debian's multiarch directory, where the kernel's asm headers are. */
    private static String multiarch() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64" -> "aarch64-linux-gnu";
            default -> throw new IllegalStateException("no multiarch name for " + System.getProperty("os.arch"));
        };
    }

    /**
     * The instructions of one program section, each 64-bit load of a map given that map's descriptor.
     *
     * @param maps the descriptor of each map, by the name the C source declares it under
     */
    static long[] program(Path object, String section, Map<String, Integer> maps) throws IOException {
        ByteBuffer elf = ByteBuffer.wrap(Files.readAllBytes(object)).order(ByteOrder.LITTLE_ENDIAN);
        long sectionHeaders = elf.getLong(0x28);
        int entrySize = elf.getShort(0x3A) & 0xFFFF;
        int count = elf.getShort(0x3C) & 0xFFFF;
        int namesIndex = elf.getShort(0x3E) & 0xFFFF;
        long namesOffset = elf.getLong((int) (sectionHeaders + (long) namesIndex * entrySize + 0x18));
        int program = -1;
        for (int i = 0; i < count; i++) {
            if (name(elf, namesOffset, elf.getInt((int) (sectionHeaders + (long) i * entrySize))).equals(section)) {
                program = i;
            }
        }
        if (program < 0) {
            fail(object + " has no section " + section);
        }
        long programHeader = sectionHeaders + (long) program * entrySize;
        int programOffset = (int) elf.getLong((int) programHeader + 0x18);
        long[] instructions = new long[(int) (elf.getLong((int) programHeader + 0x20) / 8)];
        for (int i = 0; i < instructions.length; i++) {
            instructions[i] = elf.getLong(programOffset + 8 * i);
        }
        for (int i = 0; i < count; i++) {
            long header = sectionHeaders + (long) i * entrySize;
            if (elf.getInt((int) header + 4) != SHT_REL || elf.getInt((int) header + 0x2C) != program) {
                continue;
            }
            long symbols = sectionHeaders + (long) elf.getInt((int) header + 0x28) * entrySize;
            int symbolsOffset = (int) elf.getLong((int) symbols + 0x18);
            long symbolNames = elf.getLong((int) (sectionHeaders
                    + (long) elf.getInt((int) symbols + 0x28) * entrySize + 0x18));
            if (elf.getInt((int) symbols + 4) != SHT_SYMTAB) {
                fail("relocations of " + section + " do not refer to a symbol table");
            }
            int relocations = (int) elf.getLong((int) header + 0x18);
            for (long at = 0; at < elf.getLong((int) header + 0x20); at += 16) {
                long where = elf.getLong(relocations + (int) at);
                long info = elf.getLong(relocations + (int) at + 8);
                String symbol = name(elf, symbolNames, elf.getInt(symbolsOffset + (int) (info >>> 32) * 24));
                int index = (int) (where / 8);
                if ((int) info != R_BPF_64_64 || (instructions[index] & 0xFF) != BPF_LD_IMM64) {
                    fail(section + ": a relocation the reference must not need (type " + (int) info + " at "
                            + index + ", " + symbol + "): keep it to map references");
                }
                Integer fd = maps.get(symbol);
                if (fd == null) {
                    fail(section + " refers to a map the test did not create: " + symbol);
                }
                instructions[index] = instructions[index] & 0xFFFF_0FFFL | BPF_PSEUDO_MAP_FD << 12
                        | (fd & 0xFFFF_FFFFL) << 32;
            }
        }
        return instructions;
    }

    private static String name(ByteBuffer elf, long table, int offset) {
        StringBuilder name = new StringBuilder();
        for (int at = (int) table + offset; elf.get(at) != 0; at++) {
            name.append((char) elf.get(at));
        }
        return name.toString();
    }
}
