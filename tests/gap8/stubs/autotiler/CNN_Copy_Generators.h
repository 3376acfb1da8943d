/* CNN_Copy_Generators.h -- host stub (tests only). */
#ifndef STUB_CNN_COPY_GENERATORS_H
#define STUB_CNN_COPY_GENERATORS_H
#include "AutoTilerLib.h"

void LoadCNN_Copy_Library();
int CNN_Norm(char *Name, int Width, int Height, int DoOffset, KernelOper_T kop);
int CNN_Copy(char *Name, CNN_GenControl_T *Ctrl, int Sz, int FeatureSize);

#endif
