#include "client/qr_png.h"

#include <png.h>
#include <qrencode.h>

#include <memory>
#include <vector>

#include "client/output_file.h"

namespace tvault::client {
namespace {

constexpr int kPixelsPerModule = 8;
constexpr int kQuietModules = 4;

struct PngWriteState {
  AtomicOutputFile* out;
  absl::Status status;
};

void WriteCallback(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngWriteState*>(png_get_io_ptr(png));
  if (state->status.ok()) {
    state->status = state->out->Write(absl::MakeConstSpan(data, length));
  }
}

void FlushCallback(png_structp) {}

}  // namespace

absl::Status WriteQrPng(absl::Span<const uint8_t> text,
                        const std::string& path) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(
      QRcode_encodeData(static_cast<int>(text.size()), text.data(), 0,
                        QR_ECLEVEL_M),
      QRcode_free);
  if (code == nullptr) {
    return absl::InvalidArgumentError(
        "the invite does not fit in a QR code; give the string instead");
  }
  const int modules = code->width + 2 * kQuietModules;
  const int size = modules * kPixelsPerModule;
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> out =
      AtomicOutputFile::Create(path, /*allow_overwrite=*/false);
  if (!out.ok()) return out.status();

  PngWriteState state{out->get(), absl::OkStatus()};
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) {
    png_destroy_write_struct(&png, &info);
    return absl::ResourceExhaustedError("cannot start the PNG encoder");
  }
  std::vector<png_byte> row(static_cast<size_t>(size));
  // libpng reports errors by longjmp; nothing with a destructor is created
  // between here and the end of the writing.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return absl::InternalError("the PNG encoder failed");
  }
  png_set_write_fn(png, &state, WriteCallback, FlushCallback);
  png_set_IHDR(png, info, static_cast<png_uint_32>(size),
               static_cast<png_uint_32>(size), 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < size; ++y) {
    const int my = y / kPixelsPerModule - kQuietModules;
    for (int x = 0; x < size; ++x) {
      const int mx = x / kPixelsPerModule - kQuietModules;
      const bool dark = mx >= 0 && my >= 0 && mx < code->width &&
                        my < code->width &&
                        (code->data[my * code->width + mx] & 1) != 0;
      row[static_cast<size_t>(x)] = dark ? 0 : 255;
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  if (!state.status.ok()) return state.status;
  return (*out)->Commit();
}

}  // namespace tvault::client
