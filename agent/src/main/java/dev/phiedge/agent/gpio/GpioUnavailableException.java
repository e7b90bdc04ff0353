package dev.phiedge.agent.gpio;

/**
 * The {@code gpio} section is configured but the pins cannot be driven here: no GPIO device, no
 * permission, a provider that fails to load, or a pin the chip refuses. The message says which, and
 * what to do about it; the agent refuses to start rather than run without its inputs and outputs.
 */
public final class GpioUnavailableException extends Exception {
    public GpioUnavailableException(String message) {
        super(message);
    }

    public GpioUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
