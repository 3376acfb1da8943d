/* CNN_Generators_SQ8.h -- host stub: the SQ8 generators a model source calls (tests only). */
#ifndef STUB_CNN_GENERATORS_SQ8_H
#define STUB_CNN_GENERATORS_SQ8_H
#include "AutoTilerLib.h"

void LoadCNN_SQ8_Library();
int CNN_ConvolutionPoolAct_SQ8(char *Name, CNN_GenControl_T *Ctrl, int Bias_DataSize, int Scale_DataSize,
        int InFeat, int OutFeat, int Width, int Height,
        KernelOper_T ConvOper, int Fcx, int Fcy, int Dcx, int Dcy, int Scx, int Scy, int ConvPad,
        KernelOper_T PoolOper, int Fpx, int Fpy, int Dpx, int Dpy, int Spx, int Spy, int PoolPad,
        KernelOper_T ActOper);
int CNN_PoolAct_SQ8(char *Name, CNN_GenControl_T *Ctrl, int Feat, int Width, int Height,
        KernelOper_T PoolOper, int Fpx, int Fpy, int Dpx, int Dpy, int Spx, int Spy, int PoolPad,
        KernelOper_T ActOper);
int CNN_GlobalPoolAct_SQ8(char *Name, CNN_GenControl_T *Ctrl, int Feat, int Width, int Height,
        KernelOper_T PoolOper, KernelOper_T ActOper);
int CNN_MatAddAct_SQ8(char *Name, CNN_GenControl_T *Ctrl, int Feat, int Width, int Height,
        KernelOper_T AddMatOper, KernelOper_T ActOper);
int CNN_Act_SQ8(char *Name, CNN_GenControl_T *Ctrl, int Feat, int Width, int Height, KernelOper_T ActOper);

#endif
