package dev.phiedge.agent.gpio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.phiedge.agent.config.GpioConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpioProviderTest {

    private static GpioConfig config(GpioConfig.Provider provider, Optional<String> chip) {
        return new GpioConfig(provider, chip, List.of(),
                List.of(new GpioConfig.Output("alarm-led", 17, GpioConfig.Level.LOW)), List.of());
    }

    @Test
    void gpiodOnThisMachineWithoutGpioChipsIsAClearError() {
        assumeTrue(GpioProvider.chips(GpioProvider.DEV).isEmpty(), "this machine has GPIO chips");
        GpioUnavailableException e = assertThrows(GpioUnavailableException.class,
                () -> Gpio.start(config(GpioConfig.Provider.GPIOD, Optional.empty()), (t, p) -> { }));
        assertEquals("gpio: provider gpiod needs a GPIO character device, but there is no /dev/gpiochip* on this"
                + " machine; remove the gpio section here, or set gpio.provider: mock to try the configuration"
                + " without hardware", e.getMessage());
    }

    @Test
    void aMissingChipNamesTheChipsThatExist(@TempDir Path dev) throws Exception {
        Files.createFile(dev.resolve("gpiochip0"));
        Files.createFile(dev.resolve("gpiochip10"));
        GpioUnavailableException e = assertThrows(GpioUnavailableException.class,
                () -> GpioProvider.open(config(GpioConfig.Provider.GPIOD, Optional.of("gpiochip4")), dev, dev));
        assertEquals("gpio: gpio.chip gpiochip4 does not exist; this machine has gpiochip0, gpiochip10", e.getMessage());
    }

    @Test
    void aChipThatCannotBeOpenedIsAClearErrorNotACrash(@TempDir Path dev) throws Exception {
        // A file where the character device would be: the precheck passes, so Pi4J's gpiod plugin is really
        // loaded and asked for the output. On a machine without libgpiod's chip (this one) that must fail
        // as a GpioUnavailableException naming the pin and provider, never as an Error escaping to the caller.
        Files.createFile(dev.resolve("gpiochip0"));
        GpioConfig config = config(GpioConfig.Provider.GPIOD, Optional.of("gpiochip0"));
        GpioUnavailableException e = assertThrows(GpioUnavailableException.class, () -> {
            try (Gpio gpio = Gpio.start(config, (t, p) -> { }, GpioProvider.open(config, dev, dev))) {
                gpio.onResult("r", "critical");
            }
        });
        assertTrue(e.getMessage().startsWith("gpio: cannot open output 'alarm-led' on pin 17 with the gpiod provider: "),
                e.getMessage());
    }

    @Test
    void linuxfsWithoutSysfsGpioIsAClearError(@TempDir Path sys) {
        GpioUnavailableException e = assertThrows(GpioUnavailableException.class,
                () -> GpioProvider.open(config(GpioConfig.Provider.LINUXFS, Optional.empty()), sys, sys.resolve("gpio")));
        assertEquals("gpio: provider linuxfs needs the sysfs GPIO interface, but " + sys.resolve("gpio/export")
                + " does not exist on this machine; on a Raspberry Pi 5 or a current kernel use gpio.provider: gpiod",
                e.getMessage());
    }

    @Test
    void theMockProviderNeedsNoHardware(@TempDir Path empty) throws Exception {
        try (Gpio gpio = Gpio.start(config(GpioConfig.Provider.MOCK, Optional.empty()), (t, p) -> { },
                GpioProvider.open(config(GpioConfig.Provider.MOCK, Optional.empty()), empty, empty))) {
            assertEquals(GpioConfig.Level.LOW, gpio.actuators().level("alarm-led"));
        }
    }
}
