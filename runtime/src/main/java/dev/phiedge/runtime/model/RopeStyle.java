package dev.phiedge.runtime.model;

/** How rotary position embedding pairs the dimensions of a head (ggml's rope modes). */
public enum RopeStyle {
    /** GGML_ROPE_TYPE_NORM (llama): dimension 2i is rotated with 2i+1. */
    ADJACENT_PAIRS,
    /** GGML_ROPE_TYPE_NEOX (phi3): dimension i is rotated with i + n_rot/2. */
    HALF_SPLIT
}
