#!/usr/bin/env python3
"""Generate the customs-gateway project's own synthetic sample messages.

All data is invented. Run: python3 scripts/gen_samples.py samples
"""
import base64
import os
import sys
import uuid
from decimal import Decimal as D

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "samples")

NS_CEB = "http://www.chinaport.gov.cn/ceb"


def guid(name):
    """Deterministic upper-case 36-char UUID (uuid5) so reruns give the same files."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "customs-gateway/samples/" + name)).upper()


def id_check(first17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * wi for c, wi in zip(first17, w))
    return "10X98765432"[s % 11]


def money(d):
    return f"{d:.2f}"


def write(rel, text, encoding="utf-8"):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- data
ORDER_NO = "GW20261121000001"
EBP_CODE, EBP_NAME = "3301960A01", "杭州示例跨境平台有限公司"
EBC_CODE, EBC_NAME = "3301960B02", "杭州示例电商有限公司"
PAY_CODE, PAY_NAME = "3301960C03", "示例支付有限公司"
PAY_TXN = "PAY2026112109581200001"
LOG_CODE, LOG_NAME = "3301980D04", "示例国际物流有限公司"
LOG_NO = "YT2026112100001"
AGENT_CODE, AGENT_NAME = "3301980E05", "杭州示例报关服务有限公司"
COP_NO = "GWCOP2026112100001"
PRE_NO = "B20261121000000101"          # 18
INVT_NO = "29912026I000000123"         # 18 = 2991 + 2026 + I + 9 digits
BILL_NO = "784-20261121"
TRAF_NO = "CA1042"
VOYAGE_NO = "CA104220261120"

BUYER_NAME = "林晓彤"
BUYER_REGNO = "gw_user_000123"
BUYER_TEL = "13957180001"
ID17 = "33010619920815032"
BUYER_ID = ID17 + id_check(ID17)
CONSIGNEE = BUYER_NAME
CONSIGNEE_TEL = BUYER_TEL
CONSIGNEE_ADDR = "浙江省杭州市西湖区文三路示例小区1幢2单元301室"
CONSIGNEE_DISTRICT = "330106"

ORDER_APPTIME = "20261121100000"
PAY_APPTIME = "20261121100500"
PAY_TIME = "20261121095812"
WAYBILL_APPTIME = "20261121101000"
INVT_APPTIME = "20261121102000"
DECL_DATE = "20261121"

LINES = [
    dict(gnum=1, itemNo="GW-SKU-100101", itemName="示例牌保湿化妆水200毫升",
         gmodel="200ml/瓶；成分：水、甘油、透明质酸钠；品牌：示例牌", barCode="4901234567894",
         unit="142", qty=D("2"), price=D("128.50"), country="116",
         gcode="3304990099", gname="保湿化妆水", qty1=D("0.40"), unit1="035"),
    dict(gnum=2, itemNo="GW-SKU-100202", itemName="示例牌维生素C咀嚼片120粒",
         gmodel="120粒/盒；每粒1克；维生素C；品牌：示例牌", barCode="0012345678905",
         unit="140", qty=D("3"), price=D("89.90"), country="502",
         gcode="2106909090", gname="维生素C咀嚼片", qty1=D("0.36"), unit1="035"),
    dict(gnum=3, itemNo="GW-SKU-100303", itemName="示例牌美利奴羊毛围巾",
         gmodel="针织；100%美利奴羊毛；180cm×30cm；品牌：示例牌", barCode="9312345678907",
         unit="011", qty=D("1"), price=D("399.00"), country="601",
         gcode="6117100000", gname="羊毛围巾", qty1=D("1"), unit1="011"),
]
for l in LINES:
    l["totalPrice"] = l["price"] * l["qty"]

GOODS_VALUE = sum(l["totalPrice"] for l in LINES)
FREIGHT = D("20.00")                  # order freight = inventory freight + insuredFee
INV_FREIGHT = D("18.00")
INSURED_FEE = D("2.00")
DISCOUNT = D("10.00")
TAX_TOTAL = ((GOODS_VALUE + FREIGHT - DISCOUNT) * D("0.091")).quantize(D("0.01"))
ACTURAL_PAID = GOODS_VALUE + FREIGHT + TAX_TOTAL - DISCOUNT
GROSS_WEIGHT = D("1.35")
NET_WEIGHT = D("1.10")

COP = dict(copCode=EBC_CODE, copName=EBC_NAME, dxpId="DXPENT0000112233")

G = {k: guid(k) for k in [
    "CEB311-msg", "CEB311-head", "CEB411-msg", "CEB411-head", "CEB511-msg", "CEB511-head",
    "CEB621-msg", "CEB621-head", "CEB312-msg", "CEB412-msg", "CEB512-msg",
    "CEB622-rel-msg", "CEB622-rej-msg", "CEB622-unk-msg", "CEB900-msg", "CEB900-ret",
    "CEB312-ooo-msg", "inv-missing", "inv-cur", "inv-apptime", "inv-overlong",
    "inv-idcard-msg", "inv-idcard-head", "legacy-msg", "legacy-head", "CEB900-ori"]}


def el(tag, value, indent):
    return f"{indent}<ceb:{tag}>{value}</ceb:{tag}>\n"


def base_transfer(cop=COP):
    return ("\t<ceb:BaseTransfer>\n"
            + el("copCode", cop["copCode"], "\t\t")
            + el("copName", cop["copName"], "\t\t")
            + el("dxpMode", "DXP", "\t\t")
            + el("dxpId", cop["dxpId"], "\t\t")
            + "\t</ceb:BaseTransfer>\n")


# --------------------------------------------------------------------------- CEB311
def order_xml(*, msg_guid, head_guid, order_no=ORDER_NO, currency="142", app_time=ORDER_APPTIME,
              buyer_id=BUYER_ID, legacy=False, omit_order_no=False, comment=None, lines=LINES,
              buyer_name=BUYER_NAME, buyer_tel=BUYER_TEL, consignee_addr=CONSIGNEE_ADDR,
              goods_value=GOODS_VALUE, freight=FREIGHT, discount=DISCOUNT, tax=TAX_TOTAL,
              paid=ACTURAL_PAID, pay_txn=PAY_TXN, buyer_regno=BUYER_REGNO, note=None):
    i = "\t\t\t"
    h = ""
    h += el("guid", head_guid, i)
    h += el("appType", "1", i)
    h += el("appTime", app_time, i)
    h += el("appStatus", "2", i)
    h += el("orderType", "I", i)
    if not omit_order_no:
        h += el("orderNo", order_no, i)
    h += el("ebpCode", EBP_CODE, i) + el("ebpName", EBP_NAME, i)
    h += el("ebcCode", EBC_CODE, i) + el("ebcName", EBC_NAME, i)
    h += el("goodsValue", money(goods_value), i)
    h += el("freight", money(freight), i)
    h += el("discount", money(discount), i)
    h += el("taxTotal", money(tax), i)
    h += el("acturalPaid", money(paid), i)
    h += el("currency", currency, i)
    h += el("buyerRegNo", buyer_regno, i)
    h += el("buyerName", buyer_name, i)
    if not legacy:
        h += el("buyerTelephone", buyer_tel, i)
    h += el("buyerIdType", "1", i)
    h += el("buyerIdNumber", buyer_id, i)
    h += el("payCode", PAY_CODE, i) + el("payName", PAY_NAME, i)
    h += el("payTransactionId", pay_txn, i)
    h += el("consignee", buyer_name, i)
    h += el("consigneeTelephone", buyer_tel, i)
    h += el("consigneeAddress", consignee_addr, i)
    h += el("consigneeDistrict", CONSIGNEE_DISTRICT, i)
    if note:
        h += el("note", note, i)
    body = "\t\t<ceb:OrderHead>\n" + h + "\t\t</ceb:OrderHead>\n"
    for l in lines:
        b = ""
        b += el("gnum", l["gnum"], i)
        b += el("itemNo", l["itemNo"], i)
        b += el("itemName", l["itemName"], i)
        if not legacy:
            b += el("gmodel", l["gmodel"], i)
        b += el("barCode", l["barCode"], i)
        b += el("unit", l["unit"], i)
        b += el("qty", l["qty"], i)
        b += el("price", money(l["price"]), i)
        b += el("totalPrice", money(l["totalPrice"]), i)
        b += el("currency", currency, i)
        b += el("country", l["country"], i)
        body += "\t\t<ceb:OrderList>\n" + b + "\t\t</ceb:OrderList>\n"
    out = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if comment:
        out += f"<!-- {comment} -->\n"
    out += (f'<ceb:CEB311Message guid="{msg_guid}" version="1.0" '
            f'xmlns:ceb="{NS_CEB}">\n'
            "\t<ceb:Order>\n" + body + "\t</ceb:Order>\n" + base_transfer()
            + "</ceb:CEB311Message>\n")
    return out


# --------------------------------------------------------------------------- CEB411
def payment_xml():
    i = "\t\t\t"
    h = (el("guid", G["CEB411-head"], i) + el("appType", "1", i) + el("appTime", PAY_APPTIME, i)
         + el("appStatus", "2", i) + el("payCode", PAY_CODE, i) + el("payName", PAY_NAME, i)
         + el("payTransactionId", PAY_TXN, i) + el("orderNo", ORDER_NO, i)
         + el("ebpCode", EBP_CODE, i) + el("ebpName", EBP_NAME, i)
         + el("payerIdType", "1", i) + el("payerIdNumber", BUYER_ID, i)
         + el("payerName", BUYER_NAME, i) + el("telephone", BUYER_TEL, i)
         + el("amountPaid", money(ACTURAL_PAID), i) + el("currency", "142", i)
         + el("payTime", PAY_TIME, i))
    cop = dict(copCode=PAY_CODE, copName=PAY_NAME, dxpId="DXPENT0000445566")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ceb:CEB411Message guid="{G["CEB411-msg"]}" version="1.0" xmlns:ceb="{NS_CEB}">\n'
            "\t<ceb:Payment>\n\t\t<ceb:PaymentHead>\n" + h + "\t\t</ceb:PaymentHead>\n\t</ceb:Payment>\n"
            + base_transfer(cop) + "</ceb:CEB411Message>\n")


# --------------------------------------------------------------------------- CEB511
def waybill_xml():
    i = "\t\t\t"
    goods_info = "；".join(f'{l["gname"]}{l["qty"]}{ {"142":"瓶","140":"盒","011":"件"}[l["unit"]] }'
                          for l in LINES)
    h = (el("guid", G["CEB511-head"], i) + el("appType", "1", i) + el("appTime", WAYBILL_APPTIME, i)
         + el("appStatus", "2", i) + el("logisticsCode", LOG_CODE, i)
         + el("logisticsName", LOG_NAME, i) + el("logisticsNo", LOG_NO, i)
         + el("billNo", BILL_NO, i) + el("orderNo", ORDER_NO, i)
         + el("freight", money(INV_FREIGHT), i) + el("insuredFee", money(INSURED_FEE), i)
         + el("currency", "142", i) + el("weight", money(GROSS_WEIGHT), i)
         + el("packNo", "1", i) + el("goodsInfo", goods_info, i)
         + el("consignee", CONSIGNEE, i) + el("consigneeAddress", CONSIGNEE_ADDR, i)
         + el("consigneeTelephone", CONSIGNEE_TEL, i))
    cop = dict(copCode=LOG_CODE, copName=LOG_NAME, dxpId="DXPENT0000778899")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ceb:CEB511Message guid="{G["CEB511-msg"]}" version="1.0" xmlns:ceb="{NS_CEB}">\n'
            "\t<ceb:Logistics>\n\t\t<ceb:LogisticsHead>\n" + h
            + "\t\t</ceb:LogisticsHead>\n\t</ceb:Logistics>\n"
            + base_transfer(cop) + "</ceb:CEB511Message>\n")


# --------------------------------------------------------------------------- CEB621
DUMMY_SIG = """\t<!-- placeholder signature: structurally valid, not a real one -->
\t<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
\t\t<ds:SignedInfo>
\t\t\t<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"></ds:CanonicalizationMethod>
\t\t\t<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"></ds:SignatureMethod>
\t\t\t<ds:Reference URI="">
\t\t\t\t<ds:Transforms>
\t\t\t\t\t<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform>
\t\t\t\t</ds:Transforms>
\t\t\t\t<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></ds:DigestMethod>
\t\t\t\t<ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue>
\t\t\t</ds:Reference>
\t\t</ds:SignedInfo>
\t\t<ds:SignatureValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</ds:SignatureValue>
\t\t<ds:KeyInfo>
\t\t\t<ds:KeyName>00000000</ds:KeyName>
\t\t\t<ds:X509Data>
\t\t\t\t<ds:X509Certificate>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</ds:X509Certificate>
\t\t\t</ds:X509Data>
\t\t</ds:KeyInfo>
\t</ds:Signature>
"""


def inventory_xml(*, msg_guid, head_guid, buyer_id=BUYER_ID, comment=None):
    i = "\t\t\t"
    h = (el("guid", head_guid, i) + el("appType", "1", i) + el("appTime", INVT_APPTIME, i)
         + el("appStatus", "2", i) + el("orderNo", ORDER_NO, i)
         + el("ebpCode", EBP_CODE, i) + el("ebpName", EBP_NAME, i)
         + el("ebcCode", EBC_CODE, i) + el("ebcName", EBC_NAME, i)
         + el("logisticsNo", LOG_NO, i) + el("logisticsCode", LOG_CODE, i)
         + el("logisticsName", LOG_NAME, i) + el("copNo", COP_NO, i)
         + el("assureCode", EBC_CODE, i)
         + el("ieFlag", "I", i) + el("declTime", DECL_DATE, i)
         + el("customsCode", "2991", i) + el("portCode", "2991", i)
         + el("ieDate", DECL_DATE, i)
         + el("buyerIdType", "1", i) + el("buyerIdNumber", buyer_id, i)
         + el("buyerName", BUYER_NAME, i) + el("buyerTelephone", BUYER_TEL, i)
         + el("consigneeAddress", CONSIGNEE_ADDR, i)
         + el("agentCode", AGENT_CODE, i) + el("agentName", AGENT_NAME, i)
         + el("tradeMode", "9610", i) + el("trafMode", "5", i)
         + el("trafNo", TRAF_NO, i) + el("voyageNo", VOYAGE_NO, i) + el("billNo", BILL_NO, i)
         + el("country", "116", i)
         + el("freight", money(INV_FREIGHT), i) + el("insuredFee", money(INSURED_FEE), i)
         + el("currency", "142", i) + el("wrapType", "2", i) + el("packNo", "1", i)
         + el("grossWeight", money(GROSS_WEIGHT), i) + el("netWeight", money(NET_WEIGHT), i))
    body = "\t\t<ceb:InventoryHead>\n" + h + "\t\t</ceb:InventoryHead>\n"
    for l in LINES:
        b = (el("gnum", l["gnum"], i) + el("itemNo", l["itemNo"], i)
             + el("itemName", l["itemName"], i) + el("gcode", l["gcode"], i)
             + el("gname", l["gname"], i) + el("gmodel", l["gmodel"], i)
             + el("barCode", l["barCode"], i) + el("country", l["country"], i)
             + el("currency", "142", i) + el("qty", l["qty"], i) + el("unit", l["unit"], i)
             + el("qty1", l["qty1"], i) + el("unit1", l["unit1"], i)
             + el("price", money(l["price"]), i) + el("totalPrice", money(l["totalPrice"]), i))
        body += "\t\t<ceb:InventoryList>\n" + b + "\t\t</ceb:InventoryList>\n"
    cop = dict(copCode=AGENT_CODE, copName=AGENT_NAME, dxpId="DXPENT0000990011")
    out = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if comment:
        out += f"<!-- {comment} -->\n"
    out += (f'<ceb:CEB621Message guid="{msg_guid}" version="1.0" xmlns:ceb="{NS_CEB}">\n'
            "\t<ceb:Inventory>\n" + body + "\t</ceb:Inventory>\n" + base_transfer(cop)
            + DUMMY_SIG + "</ceb:CEB621Message>\n")
    return out


# --------------------------------------------------------------------------- receipts
def receipt(root, attrs_guid, inner):
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<{root} xmlns="{NS_CEB}" guid="{attrs_guid}" version="1.0">\n' + inner
            + f"</{root}>\n")


def rel(tag, value, indent="        "):
    return f"{indent}<{tag}>{value}</{tag}>\n"


def order_return(status, info, time):
    return ("    <OrderReturn>\n" + rel("guid", G["CEB311-head"]) + rel("ebpCode", EBP_CODE)
            + rel("ebcCode", EBC_CODE) + rel("orderNo", ORDER_NO) + rel("returnStatus", status)
            + rel("returnTime", time) + rel("returnInfo", info) + "    </OrderReturn>\n")


def inventory_return(status, info, time, invt_no=True):
    return ("    <InventoryReturn>\n" + rel("guid", G["CEB621-head"]) + rel("customsCode", "2991")
            + rel("ebpCode", EBP_CODE) + rel("ebcCode", EBC_CODE) + rel("agentCode", AGENT_CODE)
            + rel("copNo", COP_NO) + rel("preNo", PRE_NO)
            + (rel("invtNo", INVT_NO) if invt_no else "")
            + rel("returnStatus", status) + rel("returnTime", time) + rel("returnInfo", info)
            + "    </InventoryReturn>\n")


def main():
    files = {}
    # ---- A
    files["set-ok/CEB311-order.xml"] = order_xml(msg_guid=G["CEB311-msg"], head_guid=G["CEB311-head"])
    files["set-ok/CEB411-payment.xml"] = payment_xml()
    files["set-ok/CEB511-waybill.xml"] = waybill_xml()
    files["set-ok/CEB621-inventory.xml"] = inventory_xml(msg_guid=G["CEB621-msg"], head_guid=G["CEB621-head"])

    # ---- B
    files["receipts/CEB312-order-receipt.xml"] = receipt(
        "CEB312Message", G["CEB312-msg"],
        order_return("120", "[Code:1800;Desc:逻辑校验通过]", "20261121100012345"))
    files["receipts/CEB412-payment-receipt.xml"] = receipt(
        "CEB412Message", G["CEB412-msg"],
        "    <PaymentReturn>\n" + rel("guid", G["CEB411-head"]) + rel("payCode", PAY_CODE)
        + rel("payTransactionId", PAY_TXN) + rel("returnStatus", "120")
        + rel("returnTime", "20261121100517021") + rel("returnInfo", "[Code:1800;Desc:逻辑校验通过]")
        + "    </PaymentReturn>\n")
    files["receipts/CEB512-waybill-receipt.xml"] = receipt(
        "CEB512Message", G["CEB512-msg"],
        "    <LogisticsReturn>\n" + rel("guid", G["CEB511-head"]) + rel("logisticsCode", LOG_CODE)
        + rel("logisticsNo", LOG_NO) + rel("returnStatus", "120")
        + rel("returnTime", "20261121101009876") + rel("returnInfo", "[Code:1800;Desc:逻辑校验通过]")
        + "    </LogisticsReturn>\n")
    files["receipts/CEB622-inventory-released.xml"] = receipt(
        "CEB622Message", G["CEB622-rel-msg"],
        inventory_return("800", "[Code:2600;Desc:放行]", "20261121143005120"))
    files["receipts/CEB622-inventory-rejected.xml"] = receipt(
        "CEB622Message", G["CEB622-rej-msg"],
        inventory_return("100", "[Code:1313;Desc:订购人购买超过年度限额]", "20261121102531004",
                         invt_no=False))
    files["receipts/CEB622-unknown-status.xml"] = receipt(
        "CEB622Message", G["CEB622-unk-msg"],
        inventory_return("600", "挂起", "20261121110000001"))
    ori = ('<?xml version="1.0" encoding="UTF-8"?><ceb:CEB311Message guid="'
           + G["CEB900-ori"] + '" version="1.0" xmlns:ceb="http://www.chinaport.gov.cn/ceb">'
           '<ceb:Order><ceb:OrderHead><ceb:guid>' + G["CEB900-ori"]
           + '</ceb:guid><ceb:appType>1</ceb:appType><ceb:appStatus>2</ceb:appStatus>'
           '<ceb:orderType>I</ceb:orderType><ceb:orderNo>GW20261121000009</ceb:orderNo>'
           '</ceb:OrderHead></ceb:Order></ceb:CEB311Message>')
    files["receipts/CEB900-format-error.xml"] = receipt(
        "CEB900Message", G["CEB900-msg"],
        "    <MessageReturn>\n" + rel("guid", G["CEB900-ret"]) + rel("returnStatus", "-301008")
        + rel("returnInfo", "参数校验不通过：报文不能通过schema校验，OrderHead缺少appTime等必填节点")
        + rel("returnTime", "20261121100200333")
        + rel("oriCopMsgId", "GW3301960B0220261121100159000009")
        + rel("oriMessageType", "CEB311Message")
        + "        <oriBizMessage><![CDATA[" + ori + "]]></oriBizMessage>\n"
        + "    </MessageReturn>\n")
    files["receipts/CEB312-out-of-order.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        "<!-- children of OrderReturn are deliberately NOT in XSD order (fails xmllint; a tolerant reader accepts it) -->\n"
        f'<CEB312Message xmlns="{NS_CEB}" version="1.0" guid="{guid("CEB312-ooo-msg")}">\n'
        "    <OrderReturn>\n" + rel("returnStatus", "120") + rel("returnInfo", "[Code:1800;Desc:逻辑校验通过]")
        + rel("orderNo", ORDER_NO) + rel("returnTime", "20261121100012345") + rel("ebcCode", EBC_CODE)
        + rel("guid", G["CEB311-head"]) + rel("ebpCode", EBP_CODE)
        + "    </OrderReturn>\n</CEB312Message>\n")

    # ---- C
    seq_no = "I20260000012345678"
    entry_id = "299120261000012345"
    files["declaration/DEC_RESULT-L.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<DEC_RESULT>\n'
        + rel("CUS_CIQ_NO", seq_no, "    ") + rel("ENTRY_ID", entry_id, "    ")
        + rel("NOTICE_DATE", "2026-11-21T10:18:42", "    ") + rel("CHANNEL", "L", "    ")
        + rel("NOTE", "入库成功", "    ") + rel("CUSTOM_MASTER", "2991", "    ")
        + "    <I_E_DATE/>\n" + rel("D_DATE", "2026-11-21", "    ") + "</DEC_RESULT>\n")
    dec_p = ('<?xml version="1.0" encoding="GB2312"?>\n<DEC_RESULT>\n'
             + rel("CUS_CIQ_NO", seq_no, "    ") + rel("ENTRY_ID", entry_id, "    ")
             + rel("NOTICE_DATE", "2026-11-21T15:42:07", "    ") + rel("CHANNEL", "P", "    ")
             + rel("NOTE", "报关单已放行", "    ") + rel("CUSTOM_MASTER", "2991", "    ")
             + rel("I_E_DATE", "20261121", "    ") + rel("D_DATE", "2026-11-21T00:00:00", "    ")
             + "</DEC_RESULT>\n")
    dec_data = ('<?xml version="1.0" encoding="GB2312"?>\n<DEC_DATA>\n  <DEC_RESULT>\n'
                + "".join(rel(k, v, "    ") for k, v in [
                    ("SEQ_NO", "000000001234560017"), ("ENTRY_ID", "299120261000012346"),
                    ("NOTICE_DATE", "20261121T10150300"), ("CHANNEL", "L"), ("NOTE", "入库成功"),
                    ("DECL_PORT", "2991"), ("AGENT_NAME", AGENT_NAME), ("DECLARE_NO", "33019800001"),
                    ("TRADE_CO", EBC_CODE), ("CUSTOMS_FIELD", ""), ("BONDED_NO", ""),
                    ("I_E_DATE", "20261121T00000000"), ("PACK_NO", "12"), ("BILL_NO", BILL_NO),
                    ("TRAF_MODE", "5"), ("VOYAGE_NO", TRAF_NO), ("NET_WT", "110.5"),
                    ("GROSS_WT", "128"), ("D_DATE", "20261121")])
                + "  </DEC_RESULT>\n  <RESULT_INFO>报关单导入成功，海关已接收</RESULT_INFO>\n</DEC_DATA>\n")
    ns_dec = "http://www.chinaport.gov.cn/dec"
    files["declaration/Successed_I_GW0000000000000001_t-1_20261121101500.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<DecImportResponse xmlns="{ns_dec}">\n'
        + rel("ResponseCode", "0", "\t") + rel("ErrorMessage", seq_no + "直接申报成功", "\t")
        + rel("ClientSeqNo", "GW0000000000000001", "\t") + rel("SeqNo", seq_no, "\t")
        + "\t<TrnPreId></TrnPreId>\n</DecImportResponse>\n")
    files["declaration/Failed_I_GW0000000000000002_t-1_20261121101600.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<ns2:DecImportResponse xmlns:ns2="{ns_dec}">\n'
        + rel("ns2:ResponseCode", "1", "\t")
        + rel("ns2:ErrorMessage", "报关单导入失败：第2项商品编号6117100000申报要素不完整", "\t")
        + rel("ns2:ClientSeqNo", "GW0000000000000002", "\t") + "\t<ns2:SeqNo></ns2:SeqNo>\n"
        + "\t<ns2:TrnPreId></ns2:TrnPreId>\n</ns2:DecImportResponse>\n")

    # ---- E
    files["invalid/CEB311-missing-orderNo.xml"] = order_xml(
        msg_guid=G["inv-missing"], head_guid=G["inv-missing"], omit_order_no=True,
        comment="INVALID: OrderHead has no orderNo (required by the XSD and the spec)")
    files["invalid/CEB311-bad-currency.xml"] = order_xml(
        msg_guid=G["inv-cur"], head_guid=G["inv-cur"], currency="502",
        comment="INVALID: currency is 502 (USD) in OrderHead and every OrderList; the XSD fixes currency to 142 (CNY)")
    files["invalid/CEB311-bad-apptime.xml"] = order_xml(
        msg_guid=G["inv-apptime"], head_guid=G["inv-apptime"], app_time="20261341250000",
        comment="INVALID: appTime 20261341250000 has 14 chars (passes the XSD length check) but is not a real "
                "date-time: month 13, day 41, hour 25 (business rule: YYYYMMDDhhmmss)")
    long_no = "GW" + "2026112100000" * 4 + "0000007"
    assert len(long_no) == 61, len(long_no)
    files["invalid/CEB311-overlong-orderNo.xml"] = order_xml(
        msg_guid=G["inv-overlong"], head_guid=G["inv-overlong"], order_no=long_no,
        comment="INVALID: orderNo is 61 characters long; the XSD allows at most 60")
    good_check = BUYER_ID[-1]
    bad_check = "7" if good_check != "7" else "8"
    bad_id = ID17 + bad_check
    files["invalid/CEB621-bad-idcard.xml"] = inventory_xml(
        msg_guid=G["inv-idcard-msg"], head_guid=G["inv-idcard-head"], buyer_id=bad_id,
        comment=f"INVALID: buyerIdNumber {bad_id} has a wrong check digit (ISO 7064 MOD 11-2 gives "
                f"{good_check}, not {bad_check}); schema-valid, violates the ID-card business rule")
    legacy_id17 = "33010219860304271"
    legacy_lines = [
        dict(gnum=1, itemNo="GW-SKU-000501", itemName="示例牌婴儿配方奶粉3段900克", gmodel=None,
             barCode="9412345678904", unit="122", qty=D("2"), price=D("238.00"), country="609"),
        dict(gnum=2, itemNo="GW-SKU-000602", itemName="示例牌儿童牙膏75克", gmodel=None,
             barCode="4901234567801", unit="007", qty=D("4"), price=D("32.50"), country="116"),
    ]
    for l in legacy_lines:
        l["totalPrice"] = l["price"] * l["qty"]
    lg_goods = sum(l["totalPrice"] for l in legacy_lines)
    lg_freight, lg_disc = D("15.00"), D("0.00")
    lg_tax = ((lg_goods + lg_freight - lg_disc) * D("0.091")).quantize(D("0.01"))
    files["invalid/CEB311-legacy-2016.xml"] = order_xml(
        msg_guid=G["legacy-msg"], head_guid=G["legacy-head"], order_no="GW20161121000088",
        app_time="20161121093000", lines=legacy_lines, legacy=True,
        buyer_name="周明远", buyer_regno="gw_user_000088", buyer_id=legacy_id17 + id_check(legacy_id17),
        consignee_addr="浙江省杭州市西湖区文三路示例小区3幢1单元502室",
        goods_value=lg_goods, freight=lg_freight, discount=lg_disc, tax=lg_tax,
        paid=lg_goods + lg_freight + lg_tax - lg_disc, pay_txn="PAY2016112109280000088",
        comment="LEGACY (2016-era field set): no OrderHead/buyerTelephone and no OrderList/gmodel. "
                "Fails the 2022 XSD only for those two reasons; otherwise valid and consistent. "
                "A tolerant reader accepts it with warnings; the writer must not produce it.")
    # consignee telephone for the legacy order: reuse a plausible number
    files["invalid/CEB311-legacy-2016.xml"] = files["invalid/CEB311-legacy-2016.xml"].replace(
        f"<ceb:consigneeTelephone>{BUYER_TEL}</ceb:consigneeTelephone>",
        "<ceb:consigneeTelephone>13605710088</ceb:consigneeTelephone>")
    files["invalid/not-xml.xml"] = (
        "<!-- INVALID: not XML at all, binary-looking junk after this comment (no root element) -->\n"
        "PK\u0003\u0004\u0014 ÿØÿà JFIF ¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿\n"
        "\u00b5\u00ff\u00fe\u00ef\u00bb\u00bf%PDF-1.4 %âãÏÓ 0x89504E47 ÞÝÛÚ þÿ\n"
        "QnVpbGQgYnJva2VuIGRhdGEgd2l0aCBubyBtZWFuaW5nICYmIDw8Pj4gXl5efn5+\n"
        "\u00e6\u00a5\u00ae\u00c3\u00bf\u00c2 <<<>>> &&& ]]> ÿÿÿÿ ¤¤¤¤ \u00b6\u00b6\n")

    for rel_path, text in files.items():
        write(rel_path, text)
    write("declaration/DEC_RESULT-P-gb2312.xml", dec_p, "gb2312")
    write("declaration/DEC_DATA-legacy-gb2312.xml", dec_data, "gb2312")

    # ---- D: DxpMsg wrapping the exact bytes of the order
    with open(os.path.join(OUT, "set-ok/CEB311-order.xml"), "rb") as f:
        order_bytes = f.read()
    b64 = base64.b64encode(order_bytes).decode("ascii")
    b64_lines = b64  # one line, like the official DxpMsg samples
    dxp = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<dxp:DxpMsg ver="1.0" xmlns:dxp="http://www.chinaport.gov.cn/dxp">\n'
           "\t<dxp:TransInfo>\n"
           "\t\t<dxp:CopMsgId>GW3301960B0220261121100000000001</dxp:CopMsgId>\n"
           f"\t\t<dxp:SenderId>{COP['dxpId']}</dxp:SenderId>\n"
           "\t\t<dxp:ReceiverIds>\n\t\t\t<dxp:ReceiverId>DXPEDCCEB0000002</dxp:ReceiverId>\n\t\t</dxp:ReceiverIds>\n"
           "\t\t<dxp:CreatTime>2026-11-21T10:00:00</dxp:CreatTime>\n"
           "\t\t<dxp:MsgType>CEB311Message</dxp:MsgType>\n"
           "\t</dxp:TransInfo>\n"
           f"\t<dxp:Data>{b64_lines}</dxp:Data>\n"
           "\t<dxp:AddInfo>\n\t\t<dxp:FileName>CEB311-order.xml</dxp:FileName>\n\t</dxp:AddInfo>\n"
           "</dxp:DxpMsg>\n")
    write("dxp/DxpMsg-CEB311.xml", dxp)


if __name__ == "__main__":
    main()
    print("buyer id", BUYER_ID, "goods", GOODS_VALUE, "tax", TAX_TOTAL, "paid", ACTURAL_PAID)
