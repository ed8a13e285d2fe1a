"""The text of the HuongDan sheet: what each sheet holds and how to send the file (contract §1-3).

Sheet names, column and ThongTin labels come from `ingest.read.layout`; this module only writes
the sentences.
"""

from __future__ import annotations

from ingest.model import EMULATION, INFO_SHEET, POVERTY, TERM
from ingest.periods import Period, Term
from ingest.read.layout import INFO_LABELS, SHEETS


def info_labels() -> dict[str, str]:
    """ThongTin field -> the label the template writes (the first one layout lists)."""
    labels: dict[str, str] = {}
    for label, (field, _) in INFO_LABELS.items():
        labels.setdefault(field, label)
    return labels


def _label(kind: str, column: str) -> str:
    return f"'{SHEETS[kind].column(column).label}'"


def paragraphs(code: str, p: Period, t: Term, history, unit_words: str) -> list[tuple[str, bool]]:
    """(text, is_heading) in order."""
    term, emulation, poverty = SHEETS[TERM], SHEETS[EMULATION], SHEETS[POVERTY]
    labels = info_labels()
    prefilled = ", ".join(f"'{labels[f]}'" for f in ("province_code", "province_name", "period",
                                                       "term"))
    out: list[tuple[str, bool]] = [
        ("Cách điền", True),
        ("• Chỉ nhập vào các ô tô màu vàng nhạt. Các ô khác (nhãn, mã, nội dung chỉ tiêu, điểm "
         "chuẩn) đã điền sẵn và được khóa để tệp đọc được đúng. Nếu thật cần sửa: Xem lại (Review) "
         "› Bỏ bảo vệ trang tính (Unprotect Sheet), không có mật khẩu.", False),
        ("• Chọn một ô vàng để xem hướng dẫn của ô đó. Giá trị sai (số âm, số lẻ ở cột số đếm, "
         "điểm vượt điểm chuẩn, hộ thoát nghèo nhiều hơn hộ nghèo…) bị từ chối ngay khi nhập.",
         False),
        ("• Ô để trống nghĩa là không báo cáo, không phải số 0: nếu kết quả bằng 0, hãy nhập 0.",
         False),
        ("• Nhập số như thường lệ: 1.284 (một nghìn hai trăm tám mươi tư), 11,54; tỷ lệ: 71%. "
         "Không thêm chữ hay đơn vị vào ô số.", False),
        ("• Số nguyên luôn hiện dấu chấm ngăn cách hàng nghìn (2.800), dù máy cài Excel tiếng "
         "Anh. Nếu máy dùng dấu chấm làm dấu thập phân (Excel tiếng Anh), hãy gõ số không có "
         "dấu ngăn cách: 1284, không gõ 1.284. Ô số đếm và ô tiền (triệu đồng, số nguyên) từ "
         "chối số có phần lẻ, nên 1.284 gõ nhầm trên máy ấy không thể thành 1,284.", False),
        (f"Sheet {INFO_SHEET}", True),
        (f"• {prefilled} đã điền sẵn. Điền '{labels['report_date']}' (dd/mm/yyyy), "
         f"'{labels['prepared_by']}' và '{labels['contact']}' (chỉ dùng để liên hệ, không "
         "công bố).", False),
        (f"Sheet {term.sheet_name} — chỉ tiêu nghị quyết nhiệm kỳ {t.code}", True),
        (f"• {_label(TERM, 'target_value')}: chỉ tiêu cả nhiệm kỳ theo nghị quyết đại hội"
         + (f" (đã điền sẵn theo báo cáo kỳ {history.targets_period}; chỉ sửa nếu nghị quyết "
            "thay đổi)." if history.targets_period else "."), False),
        (f"• {_label(TERM, 'actual_value')}: kết quả cộng dồn từ đầu nhiệm kỳ đến hết kỳ "
         f"{p.code}: một số (3.562), một tỷ lệ (71%) hoặc phân số đạt/tổng (3.562/5.000).",
         False),
        *_term_rows(history),
    ]
    if p.kind == "annual":
        out += [
            (f"Sheet {emulation.sheet_name} — chấm điểm thi đua năm {p.year}", True),
            (f"• {_label(EMULATION, 'self_points')}: từ 0 đến {_label(EMULATION, 'max_points')} "
             f"của từng tiêu chí. {_label(EMULATION, 'reviewed_points')}: điểm sau khi cụm thi "
             "đua thẩm định, để trống nếu chưa có.", False),
        ]
    out += [
        (f"Sheet {poverty.sheet_name} — kết quả hỗ trợ giảm nghèo kỳ {p.code}", True),
        (f"• Mỗi dòng một {unit_words}"
         + (f" (danh sách điền sẵn theo báo cáo kỳ {history.units_period}; sửa, thêm hoặc bỏ "
            "dòng nếu cần)" if history.units_period else "")
         + ". Có thể thêm một dòng 'Tổng cộng'; hệ thống tự cộng các đơn vị.", False),
        (f"• {_label(POVERTY, 'households_out_of_poverty')} không lớn hơn "
         f"{_label(POVERTY, 'poor_households_start')}; "
         f"{_label(POVERTY, 'female_headed_out_of_poverty')} không lớn hơn "
         f"{_label(POVERTY, 'households_out_of_poverty')} và "
         f"{_label(POVERTY, 'female_headed_poor')}. Tiền tính bằng triệu đồng.", False),
        ("In và ký", True),
        ("• Mỗi sheet in vừa chiều ngang một trang A4 nằm ngang; dòng tiêu đề bảng in lại ở mỗi "
         "trang. Người lập biểu và Thủ trưởng đơn vị ký, đóng dấu ở cuối mỗi bảng.", False),
        ("Gửi tệp", True),
        (f"• Lưu tệp dạng .xlsx (không dùng .xlsm) và đặt vào thư mục {code}/ của hộp thư "
         "báo cáo. Mỗi tệp gửi đều có phiếu trả lời trong thư mục trả lời của tỉnh "
         f"({code}/<tên tệp>.receipt.txt): nhận, nhận có cảnh báo hoặc bị trả lại kèm lý do "
         "(sheet, dòng, cột).", False),
        (f"• Gửi lại tệp đã sửa cho cùng kỳ {p.code} thì bản mới thay bản cũ; các bản cũ vẫn "
         "được lưu.", False),
    ]
    return out


def _term_rows(history) -> list[tuple[str, bool]]:
    """Which rows ChiTieu lists and how to add or leave one (contract §2): the scorecard counts
    the province's own indicators, the rows with a target."""
    target, result = _label(TERM, "target_value"), _label(TERM, "actual_value")
    code = _label(TERM, "indicator_code")
    if history.targets_period:
        rows = [(f"• Các dòng là chỉ tiêu của nghị quyết tỉnh (theo báo cáo kỳ "
                 f"{history.targets_period}). Nghị quyết có thêm chỉ tiêu chưa có ở đây: ở một "
                 f"dòng trống cuối bảng, chọn mã ở cột {code} rồi điền {target} và {result}. "
                 "Chỉ tiêu không còn trong nghị quyết: xóa trắng cả hai ô đó.", False)]
    else:
        rows = [(f"• Bảng liệt kê cả danh mục chỉ tiêu. Chỉ điền các dòng là chỉ tiêu của nghị "
                 f"quyết tỉnh; dòng nào tỉnh không có, để trống cả {target} và {result}.",
                 False)]
    return rows + [
        (f"• Dòng để trống cả {target} và {result} không phải là chỉ tiêu của tỉnh: hệ thống bỏ "
         "qua, không tính vào tổng số chỉ tiêu, và phiếu trả lời ghi rõ các dòng đã bỏ qua. "
         f"Chỉ tiêu có trong nghị quyết nhưng chưa có kết quả: điền {target}, để trống {result}"
         " — được tính vào tổng là 'chưa báo cáo' (không phải 'chưa đạt').", False),
    ]
