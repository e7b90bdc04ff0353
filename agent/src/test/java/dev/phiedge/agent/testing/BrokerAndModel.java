package dev.phiedge.agent.testing;

import dev.phiedge.agent.backend.RuntimeBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What the daemon tests share per class: a real Mosquitto on a free loopback port and the real demo
 * model (samples/models/phi3-edge-demo.Q4_0.gguf through the Phi-3 runtime), loaded once. Register it as
 * {@code @RegisterExtension static final BrokerAndModel shared = new BrokerAndModel();} and wrap the model
 * in a {@link GatedBackend} for each agent, so an agent's shutdown leaves it loaded for the next test.
 */
public final class BrokerAndModel implements BeforeAllCallback, AfterAllCallback {

    public static final Path DEMO_MODEL = SharedData.repoRoot().resolve("samples/models/phi3-edge-demo.Q4_0.gguf")
            .toAbsolutePath();
    /** The demo configuration's context size. */
    public static final int CONTEXT = 512;

    private MosquittoBroker broker;
    private RuntimeBackend model;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        broker = MosquittoBroker.start();
        model = RuntimeBackend.load(DEMO_MODEL, CONTEXT, Runtime.getRuntime().availableProcessors());
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            if (model != null) {
                model.close();
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    public MosquittoBroker broker() {
        return broker;
    }

    public RuntimeBackend model() {
        return model;
    }
}
