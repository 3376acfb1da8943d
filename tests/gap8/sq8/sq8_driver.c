/*
 * Host driver of the real GAP SDK SQ8 basic kernels (compiled with -D__EMUL__ against the SDK's
 * CNN_Libraries_SQ8, Emulation and BilinearResizes sources; see tests/gap8/test_sq8_kernels.py).
 *
 * It runs one layer as the AutoTiler's generated code does for a single tile holding the whole
 * layer: the same basic kernels, argument structs and chaining (bias init of the int32
 * accumulator, convolution, per-channel reduction with activation). Under __EMUL__ the kernels see
 * one core (gap_coreid() = 0, gap_ncore() = 1), so a call is the whole parallel section.
 *
 * usage (files are raw little-endian arrays, CHW):
 *   conv|dw  CIN H W COUT FX FY SX SY DX DY PADL PADR PADT PADB ACT in w b scale shift infos out
 *   add      C H W ACT in1 in2 infos out
 *   avgpool  C H W FX FY SX SY ACT in infos out
 *   act      C H W ACT in infos out
 *   resize   C HIN WIN HOUT WOUT MODE in out              (MODE: nearest | bilinear)
 *   matmul   CIN H W COUT ACT in w b scale shift infos out  (1x1 stride-1 conv, ENABLEIM2COL)
 * ACT: none | relu | relu6. Prints the output shape "C H W" on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "Gap.h"
#include "CNN_BasicKernels_SQ8.h"
#include "ResizeBasicKernels.h"

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "sq8_driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static void *load(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    char *data = calloc(1, bytes + 16);
    if (!data) die("out of memory", path);
    size_t got = fread(data, 1, bytes, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != bytes || extra != EOF) die("file size differs from the layer geometry", path);
    return data;
}

static void save(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) die("cannot write", path);
    fclose(f);
}

static int act_of(const char *name)
{
    if (!strcmp(name, "none")) return 0;
    if (!strcmp(name, "relu")) return 1;
    if (!strcmp(name, "relu6")) return 2;
    die("unknown activation", name);
    return -1;
}

typedef void (*reduct_fn)(KerConvLinReduct_SQ8_T *);
static const reduct_fn REDUCT[] = {KerParReduct_CC_SQ8, KerParReduct_CC_ReLU_SQ8,
                                   KerParReduct_CC_ReLUN_SQ8};

typedef void (*dw_fn)(KerConvRedAct_SQ8_T *);
static const dw_fn DW_RED_ACT[] = {KerParConvDWRedActNxMDxDyStrideSxSyB32_SQ8,
                                   KerParConvDWRedActNxMDxDyStrideSxSyB32_ReLU_SQ8,
                                   KerParConvDWRedActNxMDxDyStrideSxSyB32_ReLUN_SQ8};

/* CNN_ConvolutionPoolAct_SQ8, KOP_CONV_DW (CNN_CHW_DWConvolutionPoolAct_SQ8_Internal): one fused
 * kernel adds the int32 bias (shifted by Infos[AT_INF_BIASN]), convolves, reduces each channel
 * with Scale/ScaleN and applies the activation. The general NxM DxDy SxSy variant is used for
 * every geometry (the generator may match a specialised 3x3 one: same arithmetic). */
static int run_dw(char **a, int c, int h, int w, int fx, int fy, int sx, int sy, int dx, int dy,
                  v4s pad, int act, int wo, int ho)
{
    signed char *in = load(a[15], (size_t)c * h * w), *filter = load(a[16], (size_t)c * fx * fy);
    signed char *bias = load(a[17], 4u * c);
    signed char *scale = load(a[18], c), *scalen = load(a[19], c), *infos = load(a[20], AT_INF_DIM);
    signed char *out = calloc((size_t)c * ho * wo, 1);
    KerConvRedAct_SQ8_T conv = {
        .In = in, .Filter = filter, .Bias = bias, .Scale = scale, .ScaleN = scalen, .Infos = infos,
        .Out = out, .W = w, .UsedW = w, .H = h, .UsedH = h, .InFeatures = c, .OutFeatures = c,
        .TotalInFeatures = c, .Pad = pad, .NormBias = (unsigned char)infos[AT_INF_BIASN],
        .Orientation = 1, .N = fx, .S = sx, .D = dx, .Ny = fy, .Sy = sy, .Dy = dy};
    DW_RED_ACT[act](&conv);
    save(a[21], out, (size_t)c * ho * wo);
    printf("%d %d %d\n", c, ho, wo);
    return 0;
}

typedef void (*mm_fn)(KerMatMul_SQ8_T *);
static const mm_fn MATMUL[] = {KerParMatMulB32_SQ8, KerParMatMulB32_ReLU_SQ8, KerParMatMulB32_ReLUN_SQ8};

/* A 1x1 stride-1 convolution with ENABLEIM2COL=1: the generator maps it to a matrix product
 * (CNN_MatMulAct_SQ8_Internal): In1 = the weights [Cout][Cin], In2 = the features [Cin][H*W],
 * KerParMatMulB32_* with bias, per-channel scale and activation, one column buffer of 4 x Cin. */
static int run_matmul(char **a)
{
    int cin = atoi(a[0]), h = atoi(a[1]), w = atoi(a[2]), cout = atoi(a[3]), act = act_of(a[4]);
    size_t n = (size_t)h * w;
    signed char *in = load(a[5], (size_t)cin * n), *filter = load(a[6], (size_t)cout * cin);
    int *bias = load(a[7], 4u * cout);
    unsigned char *scale = load(a[8], cout), *scalen = load(a[9], cout);
    signed char *infos = load(a[10], AT_INF_DIM);
    signed char *out = calloc((size_t)cout * n, 1), *column = calloc(4u * cin + 16, 1);
    if (n > 0xFFFF) die("feature map larger than the kernel's 16-bit W_In2", a[5]);
    KerMatMul_SQ8_T arg = {
        .In1 = filter, .W_In1 = cin, .H_In1 = cout, .In2 = in, .W_In2 = (unsigned short)n,
        .Bias = bias, .Scale = scale, .ScaleN = scalen, .Out = out, .W_Out = (unsigned short)n,
        .OutFirstCol = 0, .BufferColIn2 = column, .NormBias = (unsigned char)infos[AT_INF_BIASN],
        .ColFirst = 0, .Sx = 1, .Sy = 1, .W = w, .H = h, .Infos = infos};
    MATMUL[act](&arg);
    save(a[11], out, (size_t)cout * n);
    printf("%d %d %d\n", cout, h, w);
    return 0;
}

/* CNN_ConvolutionPoolAct_SQ8, KOP_CONV: KerParSetBiasB32_SQ8 initialises the int32 accumulator,
 * the general NxM kernel accumulates, KerParReduct_CC_* scales each channel to int8 and applies
 * the activation (the CHW route of the generator; see the test for 1x1 convolutions). */
static int run_conv(int dw, char **a)
{
    int cin = atoi(a[0]), h = atoi(a[1]), w = atoi(a[2]), cout = atoi(a[3]);
    int fx = atoi(a[4]), fy = atoi(a[5]), sx = atoi(a[6]), sy = atoi(a[7]);
    int dx = atoi(a[8]), dy = atoi(a[9]);
    int pl = atoi(a[10]), pr = atoi(a[11]), pt = atoi(a[12]), pb = atoi(a[13]);
    int act = act_of(a[14]);
    int wo = (w - (dx * (fx - 1) + 1) + pl + pr) / sx + 1, ho = (h - (dy * (fy - 1) + 1) + pt + pb) / sy + 1;
    if (dw) {
        if (cin != cout) die("depthwise convolution with different input and output channels", a[0]);
        return run_dw(a, cin, h, w, fx, fy, sx, sy, dx, dy, (v4s){pl, pr, pt, pb}, act, wo, ho);
    }
    size_t nw = (size_t)cout * fx * fy * cin;
    signed char *in = load(a[15], (size_t)cin * h * w), *filter = load(a[16], nw);
    int *bias = load(a[17], 4u * cout);
    unsigned char *scale = load(a[18], cout), *scalen = load(a[19], cout);
    signed char *infos = load(a[20], AT_INF_DIM);
    int *acc = calloc((size_t)cout * ho * wo, sizeof(int));
    signed char *out = calloc((size_t)cout * ho * wo, 1);
    KerConv_SQ8_T conv = {
        .In = in, .W = w, .UsedW = w, .H = h, .UsedH = h, .InFeatures = cin, .OutFeatures = cout,
        .TotalInFeatures = cin, .Filter = filter, .Bias = NULL, .Out = acc,
        .Pad = (v4s){pl, pr, pt, pb}, .NormBias = 0, .Orientation = 1,
        .N = fx, .S = sx, .D = dx, .Ny = fy, .Sy = sy, .Dy = dy};
    KerSetBias_SQ8_T set_bias = {.Out = acc, .W = wo, .H = ho, .Feat = cout, .Bias = bias, .NormBias = 0};
    KerParSetBiasB32_SQ8(&set_bias);
    KerParConvNxMDxDyStrideSxSy_SQ8(&conv);
    KerConvLinReduct_SQ8_T red = {.In = acc, .Out = out, .Feat = cout, .W = wo, .H = ho,
                                  .Scale = scale, .ScaleN = scalen, .Infos = infos};
    REDUCT[act](&red);
    save(a[21], out, (size_t)cout * ho * wo);
    printf("%d %d %d\n", cout, ho, wo);
    return 0;
}

/* CNN_MatAddAct_SQ8: KerMatAdd*_SQ8 over the whole tile (Feat = number of values). */
static int run_add(char **a)
{
    int c = atoi(a[0]), h = atoi(a[1]), w = atoi(a[2]), act = act_of(a[3]);
    size_t n = (size_t)c * h * w;
    signed char *in1 = load(a[4], n), *in2 = load(a[5], n), *infos = load(a[6], AT_INF_DIM);
    signed char *out = calloc(n, 1);
    KerMat3_SQ8_T arg = {.In1 = in1, .In2 = in2, .Out = out, .Feat = (unsigned short)n, .W = w, .H = h,
                         .DoScale = 1, .Infos = infos};
    if (n > 0xFFFF) die("MatAdd tile larger than the kernel's 16-bit Feat", a[4]);
    if (act == 0) KerMatAdd_SQ8(&arg);
    else if (act == 1) KerMatAdd_ReLU_SQ8(&arg);
    else KerMatAdd_ReLUN_SQ8(&arg);
    save(a[7], out, n);
    printf("%d %d %d\n", c, h, w);
    return 0;
}

/* CNN_PoolAct_SQ8, KOP_AVGPOOL, no padding: KerParPoolNxMStrideSxSy_*, DoScale when there is no
 * activation (the generator's Imm(ActOper == KOP_NONE)); the activation kernels rescale otherwise. */
static int run_avgpool(char **a)
{
    int c = atoi(a[0]), h = atoi(a[1]), w = atoi(a[2]), fx = atoi(a[3]), fy = atoi(a[4]);
    int sx = atoi(a[5]), sy = atoi(a[6]), act = act_of(a[7]);
    int wo = (w - fx) / sx + 1, ho = (h - fy) / sy + 1;
    signed char *in = load(a[8], (size_t)c * h * w), *infos = load(a[9], AT_INF_DIM);
    signed char *out = calloc((size_t)c * ho * wo, 1);
    KerPool_SQ8_T arg = {.In = in, .Out = out, .Feat = c, .W = w, .UsedW = w, .H = h, .UsedH = h,
                         .PoolMax = 0, .FS = fx, .FSy = fy, .S = sx, .Sy = sy, .D = 1, .Dy = 1,
                         .Orientation = 1, .DoScale = act == 0, .Pad = (v4s){0, 0, 0, 0}, .Infos = infos};
    if (act == 0) KerParPoolNxMStrideSxSy_SQ8(&arg);
    else if (act == 1) KerParPoolNxMStrideSxSy_ReLU_SQ8(&arg);
    else KerParPoolNxMStrideSxSy_ReLUN_SQ8(&arg);
    save(a[10], out, (size_t)c * ho * wo);
    printf("%d %d %d\n", c, ho, wo);
    return 0;
}

/* CNN_Act_SQ8: Ker_ReLU_SQ8 / Ker_ReLUN_SQ8 on the whole tile. */
static int run_act(char **a)
{
    int c = atoi(a[0]), h = atoi(a[1]), w = atoi(a[2]), act = act_of(a[3]);
    size_t n = (size_t)c * h * w;
    signed char *in = load(a[4], n), *infos = load(a[5], AT_INF_DIM), *out = calloc(n, 1);
    KerActivation_SQ8_T arg = {.In = in, .Out = out, .Feat = c, .W = w, .H = h, .Infos = infos};
    if (act == 1) Ker_ReLU_SQ8(&arg);
    else if (act == 2) Ker_ReLUN_SQ8(&arg);
    else die("stand-alone activation without an activation", a[3]);
    save(a[6], out, n);
    printf("%d %d %d\n", c, h, w);
    return 0;
}

/* The resize generator (Generators/BilinearResizes): one signed-resize call per channel. */
static int run_resize(char **a)
{
    int c = atoi(a[0]), hin = atoi(a[1]), win = atoi(a[2]), hout = atoi(a[3]), wout = atoi(a[4]);
    int bilinear = !strcmp(a[5], "bilinear");
    if (!bilinear && strcmp(a[5], "nearest")) die("unknown resize mode", a[5]);
    signed char *in = load(a[6], (size_t)c * hin * win), *out = calloc((size_t)c * hout * wout, 1);
    for (int ch = 0; ch < c; ch++) {
        signed char *i = in + (size_t)ch * hin * win, *o = out + (size_t)ch * hout * wout;
        if (bilinear) {
            KerResizeBilinearSigned_ArgT arg = {.In = i, .Win = win, .Hin = hin, .Out = o, .Wout = wout,
                                                .Hout = hout, .HTileOut = hout, .FirstLineIndex = 0};
            KerResizeBilinearSigned(&arg);
        } else {
            KerResizeNearestNeighborSigned_ArgT arg = {.In = i, .Win = win, .Hin = hin, .Out = o,
                                                       .Wout = wout, .Hout = hout, .HTileOut = hout,
                                                       .FirstLineIndex = 0};
            KerResizeNearestNeighborSigned(&arg);
        }
    }
    save(a[7], out, (size_t)c * hout * wout);
    printf("%d %d %d\n", c, hout, wout);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct { const char *kind; int args; } KINDS[] = {
        {"conv", 22}, {"dw", 22}, {"add", 8}, {"avgpool", 11}, {"act", 7}, {"resize", 8},
        {"matmul", 12}};
    for (unsigned k = 0; argc > 1 && k < sizeof(KINDS) / sizeof(KINDS[0]); k++) {
        if (strcmp(argv[1], KINDS[k].kind)) continue;
        if (argc != KINDS[k].args + 2) die("wrong number of arguments for", argv[1]);
        char **a = argv + 2;
        switch (k) {
        case 0: case 1: return run_conv(k == 1, a);
        case 2: return run_add(a);
        case 3: return run_avgpool(a);
        case 4: return run_act(a);
        case 5: return run_resize(a);
        default: return run_matmul(a);
        }
    }
    die("usage: sq8_driver conv|dw|add|avgpool|act|resize|matmul ARGS... (see the file's header)", NULL);
    return 2;
}
