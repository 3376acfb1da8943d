/*
 * AutoTilerLib.h -- host stub of the AutoTiler's public API, for a syntax/type check of the
 * generated <prefix>Model.c with gcc (tests only). Prototypes as in
 * gap_sdk tools/autotiler_v3/Autotiler/AutoTilerLib.h (gap8-toolchain.md §2); types reduced to
 * what a model source uses.
 */
#ifndef STUB_AUTOTILERLIB_H
#define STUB_AUTOTILERLIB_H

typedef enum {
    KOP_NONE = 0, KOP_CONV, KOP_CONV_DW, KOP_MAXPOOL, KOP_AVGPOOL, KOP_GLOBAL_MAXPOOL,
    KOP_GLOBAL_AVGPOOL, KOP_RELU, KOP_RELUN, KOP_HSWISH, KOP_HSIGMOID, KOP_LEAKYRELU, KOP_MATADD,
    KOP_LINEAR, KOP_SOFTMAX
} KernelOper_T;

typedef enum {
    AT_MEM_UNDEF = 0, AT_MEM_L1, AT_MEM_L2, AT_MEM_L3_HRAM, AT_MEM_L3_QSPIRAM, AT_MEM_L3_OSPIRAM,
    AT_MEM_L3_DEFAULTRAM, AT_MEM_L3_HFLASH, AT_MEM_L3_QSPIFLASH, AT_MEM_L3_OSPIFLASH,
    AT_MEM_L3_MRAMFLASH, AT_MEM_L3_DEFAULTFLASH
} AT_MemLocation_T;

typedef enum { ARG_SCOPE_UNDEF = 0, ARG_SCOPE_ARG, ARG_SCOPE_GLOBAL, ARG_SCOPE_LOCAL } ArgScope_T;
typedef enum { ARG_DIR_UNDEF = 0, ARG_DIR_IN, ARG_DIR_OUT, ARG_DIR_INOUT, ARG_DIR_CONSTIN } ArgDirection_T;
typedef enum { GNA_UNDEF = 0, GNA_IN, GNA_OUT, GNA_INOUT } GraghNodeArgT;

typedef enum {
    AT_GRAPH_MONITOR_CYCLES = 0, AT_GRAPH_MONITOR_CVAR_NAME, AT_GRAPH_PRODUCE_NODE_NAMES,
    AT_GRAPH_PRODUCE_NODE_CVAR_NAME, AT_GRAPH_PRODUCE_OPERINFOS, AT_GRAPH_PRODUCE_OPERINFOS_CVAR_NAME,
    AT_GRAPH_REORDER_CONSTANT_IN, AT_GRAPH_TRACE_EXEC, AT_GRAPH_NOINLINE_NODE
} AT_GraphCtrl_T;

typedef enum { PAD_LEFT, PAD_RIGHT, PAD_BALANCED_LEFT, PAD_BALANCED_RIGHT } AT_PadType;

#define AT_OPT_OFF ((void *)0)
#define AT_OPT_ON ((void *)1)
#define AT_OPT_VAL(Val) ((void *)(long)(Val))

typedef struct { int Unused; } CKernel_Arg_T;
typedef struct { int Unused; } ConstInit_T;
typedef struct { int Unused; } ArgBindingDescr_T;
typedef struct { int Unused; } CNNGraph_T;
typedef struct {
    int TileOrientation, ParallelFeatures, ForceDPconv, UseHwCE, PadType, EnableIm2Col, ReluN;
} CNN_GenControl_T;

int TilerParseOptions(int argc, char **argv);
void GenerateTilingCode();
void SetUsedFilesNames(char *StdTypedefsName, unsigned int LibKernelFileCount, ...);
void SetGeneratedFilesNames(char *CallTemplatesName, char *CallTemplatesNameHeader);
void SetSymbolDynamics();
void SetMemoryDeviceInfos(int Count, ...);
void AT_SetGraphCtrl(AT_GraphCtrl_T Ctrl, void *Val);
CKernel_Arg_T **CArgs(unsigned int ArgCount, ...);
CKernel_Arg_T *TCArgInfo(char *ArgType, char *ArgName, ArgScope_T Scope, ArgDirection_T Dir,
                         AT_MemLocation_T HomeLoc, AT_MemLocation_T ExecLoc, ConstInit_T *ConstInit);
ConstInit_T *ConstInfo(char *FileName, int Format, int Binary, int Size, int Fract);
CNNGraph_T *CreateGraph(char *GraphName, CKernel_Arg_T **CArgs, CKernel_Arg_T **Locals);
void AddNode(char *NodeName, ArgBindingDescr_T **BindingList);
ArgBindingDescr_T **Bindings(int BCount, ...);
ArgBindingDescr_T *GNodeArg(GraghNodeArgT Type, char *ArgName, char *AliasedArgName);
void AddStackedTensors(char *OutTensorName, int Count, ...);
void CloseGraph();
void CNN_InitGenCtrl(CNN_GenControl_T *Ctrl);
void CNN_SetGenCtrl(CNN_GenControl_T *Ctrl, char *Name, void *Val);

#endif
