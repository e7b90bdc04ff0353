package dev.phiedge.agent.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigException;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.ConfigProblem;
import dev.phiedge.agent.config.GpioConfig;
import dev.phiedge.agent.config.StoreConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy/ and samples/config/: the installer really installs, and every template is a valid configuration. */
class DeployFilesTest {

    private static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
    private static final Path INSTALL = REPO.resolve("deploy/install.sh");

    record Run(int status, String output) {}

    private static Run bash(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", INSTALL.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "install.sh did not finish");
        return new Run(process.exitValue(), output);
    }

    private static String[] installArgs(Path prefix, Path jar, String... more) {
        List<String> args = new ArrayList<>(List.of("--prefix", prefix.toString(), "--jar", jar.toString(),
                "--java-home", System.getProperty("java.home")));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private static Path fakeJar(Path dir) throws IOException {
        return Files.writeString(dir.resolve("edge-agent.jar"), "not really a jar");
    }

    @Test
    void aDryRunShowsEveryStepAndChangesNothing(@TempDir Path prefix, @TempDir Path work) throws Exception {
        Run run = bash(installArgs(prefix, fakeJar(work), "--dry-run"));
        assertEquals(0, run.status(), run.output());
        try (Stream<Path> files = Files.list(prefix)) {
            assertEquals(0, files.count(), "a dry run wrote files");
        }
        for (String target : List.of("/opt/edge-agent/edge-agent.jar", "/opt/edge-agent/models/current.gguf",
                "/etc/edge-agent/config.yaml", "/etc/edge-agent/tinylog.properties",
                "/etc/systemd/system/edge-agent.service")) {
            assertTrue(run.output().contains(prefix + target), target + " missing from:\n" + run.output());
        }
        assertFalse(run.output().contains("useradd"), "staging must not create users:\n" + run.output());
    }

    @Test
    void aStagedInstallIsCompleteAndASecondRunKeepsTheEditedConfig(@TempDir Path prefix, @TempDir Path work)
            throws Exception {
        Path jar = fakeJar(work);
        Run first = bash(installArgs(prefix, jar));
        assertEquals(0, first.status(), first.output());
        Path opt = prefix.resolve("opt/edge-agent");
        assertEquals("not really a jar", Files.readString(opt.resolve("edge-agent.jar")));
        assertEquals(Path.of(System.getProperty("java.home")), Files.readSymbolicLink(opt.resolve("java")));
        assertEquals(Path.of("phi3-edge-demo.Q4_0.gguf"), Files.readSymbolicLink(opt.resolve("models/current.gguf")));
        assertEquals(Files.size(REPO.resolve("samples/models/phi3-edge-demo.Q4_0.gguf")),
                Files.size(opt.resolve("models/current.gguf")));
        Path config = prefix.resolve("etc/edge-agent/config.yaml");
        assertEquals(Files.readString(REPO.resolve("deploy/config/raspberry-pi-5.yaml")), Files.readString(config));
        assertEquals(Files.readString(REPO.resolve("deploy/systemd/edge-agent.service")),
                Files.readString(prefix.resolve("etc/systemd/system/edge-agent.service")));
        assertTrue(Files.isDirectory(prefix.resolve("var/lib/edge-agent")));
        assertTrue(Files.isDirectory(prefix.resolve("var/log/edge-agent")));

        Files.writeString(config, "# edited by the administrator\n", java.nio.file.StandardOpenOption.APPEND);
        Files.writeString(jar, "a newer jar");
        Run second = bash(installArgs(prefix, jar));
        assertEquals(0, second.status(), second.output());
        assertEquals("a newer jar", Files.readString(opt.resolve("edge-agent.jar")), "the jar is upgraded");
        assertTrue(Files.readString(config).endsWith("# edited by the administrator\n"), "the edited config was replaced");
        assertTrue(Files.exists(prefix.resolve("etc/edge-agent/config.yaml.new")));
        assertTrue(second.output().contains("unchanged: " + prefix + "/etc/systemd/system/edge-agent.service"),
                second.output());
    }

    @Test
    void theInstallerRefusesAnOldJavaAndUnknownOptions(@TempDir Path prefix, @TempDir Path work) throws Exception {
        Path oldJava = work.resolve("jdk17");
        Files.createDirectories(oldJava.resolve("bin"));
        Path java = Files.writeString(oldJava.resolve("bin/java"),
                "#!/bin/sh\necho '    java.specification.version = 17' >&2\n");
        assertTrue(java.toFile().setExecutable(true));
        Run old = bash("--prefix", prefix.toString(), "--jar", fakeJar(work).toString(), "--java-home", oldJava.toString());
        assertEquals(1, old.status(), old.output());
        assertTrue(old.output().contains("is Java 17; the agent needs Java 25 or newer"), old.output());

        Run unknown = bash("--frobnicate");
        assertEquals(1, unknown.status());
        assertTrue(unknown.output().contains("unknown option: --frobnicate"), unknown.output());
    }

    @Test
    void theInstallerIsShellcheckClean() throws Exception {
        assumeTrue(Stream.of(System.getenv("PATH").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, "shellcheck"))),
                "shellcheck is not installed");
        Process process = new ProcessBuilder("shellcheck", INSTALL.toString()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
    }

    @Test
    void theUnitRunsTheJarHardenedAndAsItsOwnUser() throws IOException {
        String unit = Files.readString(REPO.resolve("deploy/systemd/edge-agent.service")).replace("\\\n", " ");
        List<String> lines = unit.lines().map(String::strip).toList();
        for (String directive : List.of("User=edge-agent", "SupplementaryGroups=gpio", "ProtectSystem=strict",
                "NoNewPrivileges=yes", "Restart=on-failure", "ReadWritePaths=/var/lib/edge-agent /var/cache/edge-agent /var/log/edge-agent",
                "KillSignal=SIGTERM", "WantedBy=multi-user.target")) {
            assertTrue(lines.contains(directive), directive);
        }
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("MemoryMax=")));
        String exec = lines.stream().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow()
                .replaceAll("\\s+", " ");
        assertTrue(exec.startsWith("ExecStart=/opt/edge-agent/java/bin/java --add-modules jdk.incubator.vector"), exec);
        assertTrue(exec.contains(" -Xmx128m "), exec);
        assertTrue(exec.contains(" -Dtinylog.configuration=/etc/edge-agent/tinylog.properties "), exec);
        assertTrue(exec.endsWith("-jar /opt/edge-agent/edge-agent.jar run --config /etc/edge-agent/config.yaml"), exec);
        assertFalse(lines.contains("MemoryDenyWriteExecute=yes"), "the JIT needs writable+executable memory");
    }

    /** The unit's directives per section ("Unit", "Service", "Install"), continuation lines joined, comments left out. */
    private static Map<String, Map<String, List<String>>> unitSections() throws IOException {
        String unit = Files.readString(REPO.resolve("deploy/systemd/edge-agent.service")).replace("\\\n", " ");
        Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
        Map<String, List<String>> current = null;
        for (String line : unit.lines().map(String::strip).toList()) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                current = sections.computeIfAbsent(line.substring(1, line.length() - 1), k -> new LinkedHashMap<>());
            } else {
                int eq = line.indexOf('=');
                assertTrue(eq > 0 && current != null, "not a directive: " + line);
                current.computeIfAbsent(line.substring(0, eq), k -> new ArrayList<>()).add(line.substring(eq + 1));
            }
        }
        return sections;
    }

    private static String one(Map<String, List<String>> section, String key) {
        List<String> values = section.get(key);
        assertTrue(values != null && values.size() == 1, key + " must be set once, got " + values);
        return values.getFirst();
    }

    @Test
    void aCleanStopIsSuccessAndRestartsBackOff() throws IOException {
        Map<String, Map<String, List<String>>> unit = unitSections();
        Map<String, List<String>> service = unit.get("Service");
        Map<String, List<String>> head = unit.get("Unit");
        // the agent exits 0 after SIGTERM; 143 (128 + 15) is accepted as well
        assertEquals("143", one(service, "SuccessExitStatus"));
        assertEquals("SIGTERM", one(service, "KillSignal"));
        assertEquals("on-failure", one(service, "Restart"));
        assertFalse(service.containsKey("WatchdogSec"), "the agent never notifies the watchdog");
        assertFalse(service.containsKey("StartLimitIntervalSec") || service.containsKey("StartLimitBurst"),
                "the start limit belongs to [Unit]");

        double first = Double.parseDouble(one(service, "RestartSec"));
        int steps = Integer.parseInt(one(service, "RestartSteps"));
        double max = Double.parseDouble(one(service, "RestartMaxDelaySec"));
        double interval = Double.parseDouble(one(head, "StartLimitIntervalSec"));
        int burst = Integer.parseInt(one(head, "StartLimitBurst"));
        assertEquals(2.0, first);
        assertTrue(steps >= 1 && max > first, steps + " steps to " + max);

        // systemd.service(5): the n-th automatic restart waits RestartSec * (RestartMaxDelaySec / RestartSec)^(n / RestartSteps),
        // at most RestartMaxDelaySec. Starting takes time too; leave it out, which favours hitting the limit.
        double startsWithBackOff = 1; // the first start
        double elapsed = 0;
        List<Double> delays = new ArrayList<>();
        for (int n = 0; elapsed <= interval; n++) {
            double delay = Math.min(max, first * Math.pow(max / first, (double) n / steps));
            delays.add(delay);
            elapsed += delay;
            if (elapsed <= interval) {
                startsWithBackOff++;
            }
        }
        assertTrue(startsWithBackOff < burst, "with the back-off (systemd 254+) a broken configuration is retried for"
                + " ever, slowly: " + startsWithBackOff + " starts within " + interval + " s, delays " + delays);
        assertEquals(max, delays.getLast(), 1e-9);
        // without it (systemd before 254 ignores RestartSteps) the restarts come every RestartSec, and the
        // start limit stops them: burst starts take (burst - 1) * RestartSec, well inside the interval
        assertTrue((burst - 1) * first < interval, "older systemd would restart every " + first + " s for ever");
    }

    @Test
    void theStoreLivesInTheStateDirectoryThatTheUnitMakesWritable() throws IOException {
        Map<String, List<String>> service = unitSections().get("Service");
        assertEquals("edge-agent", one(service, "StateDirectory"));
        // systemd sets STATE_DIRECTORY=/var/lib/<StateDirectory> for a system unit; the agent's default store follows it
        Path stateDirectory = Path.of("/var/lib", one(service, "StateDirectory"));
        Path store = StoreConfig.defaultDirectory(Path.of("/etc/edge-agent"), "greenhouse-pi-01", stateDirectory.toString());
        assertEquals(Path.of("/var/lib/edge-agent/store"), store);
        List<Path> writable = List.of(one(service, "ReadWritePaths").split("\\s+")).stream().map(Path::of).toList();
        assertTrue(writable.contains(stateDirectory), "ReadWritePaths " + writable + " leave out " + stateDirectory);
        assertTrue(writable.contains(Path.of("/var/log", one(service, "LogsDirectory"))), writable.toString());
        assertTrue(writable.stream().anyMatch(store::startsWith), "the store " + store + " is not writable: " + writable);
        assertEquals(stateDirectory.toString(), one(service, "WorkingDirectory"));
    }

    /**
     * The kernel plan cache: systemd sets CACHE_DIRECTORY=/var/cache/NAME for CacheDirectory=NAME (a system
     * unit), which the runtime's default cache file follows, and the unit leaves it writable.
     */
    @Test
    void theKernelPlanIsCachedInTheCacheDirectoryThatTheUnitMakesWritable() throws IOException {
        Map<String, List<String>> service = unitSections().get("Service");
        Path cacheDirectory = Path.of("/var/cache", one(service, "CacheDirectory"));
        List<Path> writable = List.of(one(service, "ReadWritePaths").split("\\s+")).stream().map(Path::of).toList();
        assertTrue(writable.contains(cacheDirectory), "ReadWritePaths " + writable + " leave out " + cacheDirectory);
        assertEquals(cacheDirectory.resolve("kernel-plan.tsv"),
                dev.phiedge.runtime.plan.KernelPlanCache.fileIn(java.util.Map.of("CACHE_DIRECTORY", cacheDirectory.toString()), "/home/x"));
    }

    /** systemd's own parser on the unit, where systemd-analyze is installed: nothing but what this machine lacks. */
    @Test
    void systemdParsesTheUnit(@TempDir Path dir) throws Exception {
        assumeTrue(Stream.of(System.getenv("PATH").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, "systemd-analyze"))),
                "systemd-analyze is not installed");
        Path unit = Files.copy(REPO.resolve("deploy/systemd/edge-agent.service"), dir.resolve("edge-agent.service"));
        Process process = new ProcessBuilder("systemd-analyze", "verify", unit.toString()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        for (String line : output.lines().toList()) {
            boolean expected = line.contains("/opt/edge-agent/java/bin/java is not executable") // not installed here
                    // systemd before 254, as the unit's comment says
                    || line.matches(".*Unknown key( name)? '?(RestartSteps|RestartMaxDelaySec)'? in section \\[?Service\\]?, ignoring\\.?");
            assertTrue(expected, "systemd-analyze verify: " + line + "\n" + output);
        }
    }

    @Test
    void theDeviceLogConfigurationRollsCompressesAndCapsItsFiles() throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(REPO.resolve("deploy/config/tinylog-device.properties"))) {
            p.load(in);
        }
        assertEquals("rolling file", p.getProperty("writer1"));
        assertEquals("size: 10mb", p.getProperty("writer1.policies"));
        assertEquals("gzip", p.getProperty("writer1.convert"));
        assertEquals("5", p.getProperty("writer1.backups"));
        assertEquals("true", p.getProperty("writer1.buffered"));
        assertEquals("console", p.getProperty("writer2"));
        assertEquals("warn", p.getProperty("writer2.level"));
        assertEquals("true", p.getProperty("writingthread"));
    }

    @Test
    void theSampleConfigurationsLoadAndTheirGpioRulesMatchTheirRoutes() throws Exception {
        for (String name : List.of("greenhouse.yaml", "camera.yaml")) {
            Path file = REPO.resolve("samples/config").resolve(name);
            // the loader parses the gpio section and checks each rule against the routes
            AgentConfig config = ConfigLoader.load(file);
            config.gpio().ifPresent(gpio -> assertFalse(gpio.rules().isEmpty(), name));
        }
    }

    @Test
    void theDeviceTemplatesAreValidExceptForTheModelThatInstallLinks() throws Exception {
        for (String name : List.of("raspberry-pi-5.yaml", "jetson-orin.yaml")) {
            Path file = REPO.resolve("deploy/config").resolve(name);
            try {
                ConfigLoader.load(file);
                // only possible on a device where the model is installed
            } catch (ConfigException e) {
                for (ConfigProblem problem : e.problems()) {
                    assertEquals("model.path", problem.key(), problem.toString());
                    assertTrue(problem.message().contains("/opt/edge-agent/models/current.gguf"), problem.toString());
                }
            }
        }
        // the Pi template's gpio section is valid too (read alone: the loader stops at the model path here)
        Path pi = REPO.resolve("deploy/config/raspberry-pi-5.yaml");
        var root = (org.yaml.snakeyaml.nodes.MappingNode) new org.yaml.snakeyaml.Yaml()
                .compose(Files.newBufferedReader(pi, StandardCharsets.UTF_8));
        var gpioNode = root.getValue().stream()
                .filter(t -> ((org.yaml.snakeyaml.nodes.ScalarNode) t.getKeyNode()).getValue().equals("gpio"))
                .findFirst().orElseThrow().getValueNode();
        GpioConfig gpio = GpioConfig.parse(pi, gpioNode);
        assertEquals(GpioConfig.Provider.GPIOD, gpio.provider());
        assertEquals(java.util.Optional.of("gpiochip0"), gpio.chip());
    }
}
