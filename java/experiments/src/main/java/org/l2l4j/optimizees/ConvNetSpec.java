package org.l2l4j.optimizees;

import java.util.ArrayList;
import java.util.List;

/**
 * The architecture and training protocol of a {@link ConvNetFamily}: a small convolutional
 * classifier of square colour images, trained with softmax cross-entropy on minibatches drawn
 * with replacement.
 *
 * <p>Network (the paper's CIFAR-10 optimizee, Andrychowicz et al. 2016, section 3.3; the
 * layer order of DESIGN.md section 2): for each entry of {@code convChannels}, a
 * {@code kernel x kernel} convolution (stride 1, zero padding {@code kernel / 2}, so the side is
 * kept; no bias, since batch norm follows), batch norm, ReLU and 2x2 max-pooling (stride 2);
 * then a fully connected layer of {@code fcWidth} units (no bias) with batch norm and ReLU; then
 * a fully connected output layer (with bias) to one logit per class.  Batch norm is in training
 * mode on every evaluation: each channel (each unit of the fully connected layer) is normalized
 * by the mean and biased variance of its values over the minibatch (and over positions), with
 * epsilon {@value #BN_EPSILON}, then scaled by gamma and shifted by beta, which are parameters.
 *
 * <p>{@link #paper()}: 3x32x32 images, three 5x5 convolutions of 16 channels, 32 hidden units,
 * minibatches of 128.  With 10 classes it has 22,682 parameters: {@link #tensors(int)} lists
 * them.
 *
 * @param imageChannels colour channels of the input images, at least 1
 * @param imageSide     height and width of the input images, divisible by
 *                      2^{@code convChannels.size()}
 * @param convChannels  output channels of each convolution, input side first; at least one, each
 *                      at least 1; stored as an unmodifiable copy
 * @param kernel        the convolutions' height and width, odd, at least 1
 * @param fcWidth       units of the hidden fully connected layer, at least 1
 * @param batchSize     examples per minibatch, at least 2 (batch norm needs two)
 */
public record ConvNetSpec(int imageChannels, int imageSide, List<Integer> convChannels, int kernel, int fcWidth,
        int batchSize) {

    /** Batch norm's epsilon, added to the variance (PyTorch's default). */
    public static final double BN_EPSILON = 1e-5;

    /**
     * @throws NullPointerException     if convChannels or one of its elements is null
     * @throws IllegalArgumentException if a size is out of its range (see the parameters)
     */
    public ConvNetSpec {
        if (convChannels == null) {
            throw new NullPointerException("convChannels");
        }
        convChannels = List.copyOf(convChannels);
        if (convChannels.isEmpty()) {
            throw new IllegalArgumentException("convChannels must name at least one convolution");
        }
        for (int c : convChannels) {
            if (c < 1) {
                throw new IllegalArgumentException("every convolution needs >= 1 channel, got " + convChannels);
            }
        }
        if (imageChannels < 1) {
            throw new IllegalArgumentException("imageChannels must be >= 1, got " + imageChannels);
        }
        if (imageSide < 1 || imageSide % (1 << convChannels.size()) != 0) {
            throw new IllegalArgumentException("imageSide must be a positive multiple of 2^" + convChannels.size()
                    + " (one 2x2 pooling per convolution), got " + imageSide);
        }
        if (kernel < 1 || kernel % 2 == 0) {
            throw new IllegalArgumentException("kernel must be odd and >= 1, got " + kernel);
        }
        if (fcWidth < 1) {
            throw new IllegalArgumentException("fcWidth must be >= 1, got " + fcWidth);
        }
        if (batchSize < 2) {
            throw new IllegalArgumentException("batchSize must be >= 2 (batch norm), got " + batchSize);
        }
    }

    /** The paper's CIFAR-10 optimizee: 3x32x32 images, convolutions 5x5 of 16, 16, 16 channels, 32 hidden units, minibatches of 128. */
    public static ConvNetSpec paper() {
        return new ConvNetSpec(3, 32, List.of(16, 16, 16), 5, 32, 128);
    }

    /** This spec with another minibatch size. */
    public ConvNetSpec withBatchSize(int newBatchSize) {
        return new ConvNetSpec(imageChannels, imageSide, convChannels, kernel, fcWidth, newBatchSize);
    }

    /** Features per example: channels x side x side, channel-major. */
    public int features() {
        return imageChannels * imageSide * imageSide;
    }

    /** Number of convolutions. */
    public int convolutions() {
        return convChannels.size();
    }

    /** Input channels of convolution l: the image's for l = 0, else the previous convolution's. */
    public int inputChannels(int l) {
        return l == 0 ? imageChannels : convChannels.get(l - 1);
    }

    /** Height and width of convolution l's input and output: the image side halved l times. */
    public int side(int l) {
        return imageSide >> l;
    }

    /** Inputs of the hidden fully connected layer: the last convolution's channels x (side after its pooling)^2. */
    public int flatFeatures() {
        int s = side(convolutions());
        return convChannels.get(convolutions() - 1) * s * s;
    }

    /**
     * The parameter tensors for {@code classes} outputs, in theta's order (PyTorch's module
     * order): for each convolution l = 1, 2, ...: {@code convL.weight} [out, in, k, k],
     * {@code bnL.weight} (gamma) [out], {@code bnL.bias} (beta) [out]; then {@code fc.weight}
     * [fcWidth, flatFeatures], {@code bn_fc.weight} [fcWidth], {@code bn_fc.bias} [fcWidth],
     * {@code out.weight} [classes, fcWidth], {@code out.bias} [classes].
     *
     * @throws IllegalArgumentException if classes &lt; 2
     */
    public List<ParameterTensor> tensors(int classes) {
        if (classes < 2) {
            throw new IllegalArgumentException("classes must be >= 2, got " + classes);
        }
        List<ParameterTensor> t = new ArrayList<>();
        int offset = 0;
        for (int l = 0; l < convolutions(); l++) {
            int out = convChannels.get(l);
            offset = add(t, "conv" + (l + 1) + ".weight", offset, out, inputChannels(l), kernel, kernel);
            offset = add(t, "bn" + (l + 1) + ".weight", offset, out);
            offset = add(t, "bn" + (l + 1) + ".bias", offset, out);
        }
        offset = add(t, "fc.weight", offset, fcWidth, flatFeatures());
        offset = add(t, "bn_fc.weight", offset, fcWidth);
        offset = add(t, "bn_fc.bias", offset, fcWidth);
        offset = add(t, "out.weight", offset, classes, fcWidth);
        add(t, "out.bias", offset, classes);
        return List.copyOf(t);
    }

    /** n for {@code classes} outputs: the sum of the tensors' sizes. */
    public int dimension(int classes) {
        List<ParameterTensor> tensors = tensors(classes);
        ParameterTensor last = tensors.get(tensors.size() - 1);
        return last.offset() + last.size();
    }

    private static int add(List<ParameterTensor> tensors, String name, int offset, int... shape) {
        ParameterTensor t = new ParameterTensor(name, shape, offset);
        tensors.add(t);
        return Math.addExact(offset, t.size());
    }
}
