/* ResizeGenerator.h -- host stub of Generators/BilinearResizes/ResizeGenerator.h (tests only). */
#ifndef STUB_RESIZE_GENERATOR_H
#define STUB_RESIZE_GENERATOR_H

typedef enum { UNSIGNED_INOUT = 0, SIGNED_INOUT = 1 } InOut_t;
typedef enum { KOP_BILINEAR_RESIZE = 0, KOP_NEAREST_NEIGHBOR_RESIZE = 1 } resize_kop_t;

void LoadResizeLibrary();
int GenerateResizeMultiChannel(char *Name, unsigned int Win, unsigned int Hin, unsigned int Wout,
                               unsigned int Hout, unsigned int Channels, InOut_t InOut_Type,
                               resize_kop_t Type);

#endif
