package dev.phiedge.agent.mqtt;

/** The connection cannot even be set up (bad URL, unreadable password file, broken TLS files). */
public final class MqttSetupException extends Exception {
    public MqttSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
