package dev.phiedge.agent.gpio;

import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.context.ContextBuilder;
import com.pi4j.io.gpio.digital.DigitalInputProvider;
import com.pi4j.io.gpio.digital.DigitalOutputProvider;
import com.pi4j.plugin.gpiod.provider.gpio.digital.GpioDDigitalInputProvider;
import com.pi4j.plugin.gpiod.provider.gpio.digital.GpioDDigitalOutputProvider;
import com.pi4j.plugin.linuxfs.provider.gpio.digital.LinuxFsDigitalInputProvider;
import com.pi4j.plugin.linuxfs.provider.gpio.digital.LinuxFsDigitalOutputProvider;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInputProvider;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutputProvider;
import dev.phiedge.agent.config.GpioConfig;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens the Pi4J context for the configured provider, with only that provider's digital input and
 * output plugins (no auto-detection, so nothing else on the machine is probed). Before Pi4J is touched
 * it checks that the hardware interface exists and is accessible, so a machine without GPIO gets one
 * clear sentence instead of a native-library stack trace.
 */
public final class GpioProvider {

    static final Path DEV = Path.of("/dev");
    static final Path SYSFS_GPIO = Path.of("/sys/class/gpio");

    private GpioProvider() {}

    /** The Pi4J provider id that creates inputs for this provider kind. */
    public static String inputProviderId(GpioConfig.Provider provider) {
        return switch (provider) {
            case GPIOD -> GpioDDigitalInputProvider.ID;
            case LINUXFS -> LinuxFsDigitalInputProvider.ID;
            case MOCK -> MockDigitalInputProvider.ID;
        };
    }

    /** The Pi4J provider id that creates outputs for this provider kind. */
    public static String outputProviderId(GpioConfig.Provider provider) {
        return switch (provider) {
            case GPIOD -> GpioDDigitalOutputProvider.ID;
            case LINUXFS -> LinuxFsDigitalOutputProvider.ID;
            case MOCK -> MockDigitalOutputProvider.ID;
        };
    }

    /** Opens the context on this machine's {@code /dev} and {@code /sys/class/gpio}. */
    public static Context open(GpioConfig config) throws GpioUnavailableException {
        return open(config, DEV, SYSFS_GPIO);
    }

    static Context open(GpioConfig config, Path devDir, Path sysfsGpio) throws GpioUnavailableException {
        checkHardware(config, devDir, sysfsGpio);
        String name = config.provider().wireName();
        try {
            DigitalInputProvider in;
            DigitalOutputProvider out;
            switch (config.provider()) {
                case GPIOD -> {
                    in = GpioDDigitalInputProvider.newInstance();
                    out = GpioDDigitalOutputProvider.newInstance();
                }
                case LINUXFS -> {
                    in = LinuxFsDigitalInputProvider.newInstance();
                    out = LinuxFsDigitalOutputProvider.newInstance();
                }
                default -> {
                    in = MockDigitalInputProvider.newInstance();
                    out = MockDigitalOutputProvider.newInstance();
                }
            }
            ContextBuilder builder = Pi4J.newContextBuilder().noAutoDetect().add(in, out);
            config.chip().ifPresent(builder::setGpioChipName);
            return builder.build();
        } catch (RuntimeException | LinkageError e) {
            throw new GpioUnavailableException("gpio: the " + name + " provider failed to load on this machine ("
                    + describe(e) + "); check gpio.provider, or remove the gpio section on a machine without GPIO", e);
        }
    }

    /** The GPIO character devices under {@code devDir}, sorted by name. */
    static List<Path> chips(Path devDir) {
        List<Path> chips = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(devDir, "gpiochip*")) {
            stream.forEach(chips::add);
        } catch (IOException e) {
            return List.of();
        }
        chips.sort(null);
        return chips;
    }

    private static void checkHardware(GpioConfig config, Path devDir, Path sysfsGpio) throws GpioUnavailableException {
        switch (config.provider()) {
            case MOCK -> { }
            case GPIOD -> {
                List<Path> chips = chips(devDir);
                if (chips.isEmpty()) {
                    throw new GpioUnavailableException("gpio: provider gpiod needs a GPIO character device, but there is no "
                            + devDir.resolve("gpiochip*") + " on this machine; remove the gpio section here, or set"
                            + " gpio.provider: mock to try the configuration without hardware");
                }
                Path chip = config.chip().map(devDir::resolve).orElse(chips.getFirst());
                if (!Files.exists(chip)) {
                    throw new GpioUnavailableException("gpio: gpio.chip " + chip.getFileName() + " does not exist; this machine has "
                            + String.join(", ", chips.stream().map(p -> p.getFileName().toString()).toList()));
                }
                if (!Files.isReadable(chip) || !Files.isWritable(chip)) {
                    throw new GpioUnavailableException("gpio: no permission to use " + chip + "; run the agent as a member"
                            + " of the group that owns it (usually gpio: SupplementaryGroups=gpio in the systemd unit)");
                }
            }
            case LINUXFS -> {
                if (!Files.isDirectory(sysfsGpio) || !Files.exists(sysfsGpio.resolve("export"))) {
                    throw new GpioUnavailableException("gpio: provider linuxfs needs the sysfs GPIO interface, but "
                            + sysfsGpio.resolve("export") + " does not exist on this machine; on a Raspberry Pi 5 or a"
                            + " current kernel use gpio.provider: gpiod");
                }
                if (!Files.isWritable(sysfsGpio.resolve("export"))) {
                    throw new GpioUnavailableException("gpio: no permission to write " + sysfsGpio.resolve("export")
                            + "; run the agent as a member of the gpio group");
                }
            }
        }
    }

    static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : ": " + message);
    }
}
