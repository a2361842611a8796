#ifndef CWINOGRAD_H
#define CWINOGRAD_H

/// Winograd F(4x4, 3x3) convolution of 3x3, stride-1, zero-padding-1 layers on one image's
/// channel-blocked float32 maps (16 channels per block, `nChw16c`), with the bias and a leaky ReLU
/// fused into the output transform. AVX-512 only: call it where oneDNN runs 16-channel blocks.
/// Input and output channel counts are multiples of 16.

/// The transformed weights for `fr_winograd4x3_run`: `36 * in_channels * out_channels` floats,
/// from weights laid out as in the state dict (`out, in, 3, 3`). Writes the part of input channels
/// `first_in_channel ..< end_in_channel` (workers given disjoint ranges write disjoint parts).
/// Returns 0, or -1 when its few kilobytes of scratch cannot be allocated.
int fr_winograd4x3_transform_weights(const float *weights, int in_channels, int out_channels,
                                     int first_in_channel, int end_in_channel, float *transformed);

/// Computes output tiles, a group of 12 at a time, claiming group numbers from `*next_group`
/// (atomically; start it at 0) until none remain: for every output channel `o`,
/// `y = conv(x) + bias[o]`, then `y < 0 ? y * negative_slope : y` (a slope of 1 leaves it as is),
/// then, where `residual` (a map laid out like the output) is not null,
/// `y * output_scale + residual` (two roundings, as `x5 * 0.2 + x` in PyTorch).
/// Workers sharing one counter split the work between them, however fast each runs. Each thread
/// keeps its scratch memory (`1728 * (in_channels + out_channels)` bytes) for its next call.
/// Returns 0, or -1 when that memory cannot be allocated.
int fr_winograd4x3_run(const float *source, int height, int width, int in_channels,
                       const float *transformed, const float *bias, int out_channels,
                       float *destination, float negative_slope, const float *residual, float output_scale,
                       long *next_group);

#endif
