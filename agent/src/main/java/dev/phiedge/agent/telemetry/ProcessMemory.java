package dev.phiedge.agent.telemetry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Resident memory of this process from /proc/self/status (VmRSS). The heap alone says little for an
 * agent whose model lives in memory-mapped files and native buffers; RSS is what the device runs out of.
 */
public final class ProcessMemory {
    private ProcessMemory() {}

    /** Resident set size in bytes; empty where /proc is absent (not Linux). */
    public static OptionalLong residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or an unexpected format: report nothing rather than a wrong number
        }
        return OptionalLong.empty();
    }
}
