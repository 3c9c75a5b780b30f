import base64, re, sys, xml.etree.ElementTree as ET
from decimal import Decimal as D
import os
S = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples") + "/"
NS = {"c": "http://www.chinaport.gov.cn/ceb"}
ok = True
def check(cond, msg):
    global ok
    print(("PASS " if cond else "FAIL ") + msg)
    ok &= bool(cond)
def head(path, h):
    return ET.parse(S + path).getroot().find(f".//c:{h}", NS)
def t(e, n): return e.find(f"c:{n}", NS).text
def idok(s):
    w = [7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
    return len(s) == 18 and s[:17].isdigit() and "10X98765432"[sum(int(c)*x for c,x in zip(s,w)) % 11] == s[17]
o = head("set-ok/CEB311-order.xml", "OrderHead")
p = head("set-ok/CEB411-payment.xml", "PaymentHead")
w = head("set-ok/CEB511-waybill.xml", "LogisticsHead")
i = head("set-ok/CEB621-inventory.xml", "InventoryHead")
ol = ET.parse(S + "set-ok/CEB311-order.xml").getroot().findall(".//c:OrderList", NS)
il = ET.parse(S + "set-ok/CEB621-inventory.xml").getroot().findall(".//c:InventoryList", NS)
# guids
for f in ["set-ok/CEB311-order.xml","set-ok/CEB411-payment.xml","set-ok/CEB511-waybill.xml","set-ok/CEB621-inventory.xml"]:
    r = ET.parse(S+f).getroot()
    gs = [r.get("guid")] + [e.text for e in r.iter("{%s}guid" % NS["c"])]
    check(all(re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", g) for g in gs) and r.get("version")=="1.0", f"{f}: guids upper-case UUID, version 1.0")
# order sums
for l in ol:
    check(D(t(l,"price"))*D(t(l,"qty")) == D(t(l,"totalPrice")), f"order line {t(l,'gnum')}: price*qty = totalPrice ({t(l,'totalPrice')})")
gv = sum(D(t(l,"totalPrice")) for l in ol)
check(gv == D(t(o,"goodsValue")), f"goodsValue {t(o,'goodsValue')} = sum(totalPrice) {gv}")
ap = D(t(o,"goodsValue")) + D(t(o,"freight")) + D(t(o,"taxTotal")) - D(t(o,"discount"))
check(ap == D(t(o,"acturalPaid")), f"acturalPaid {t(o,'acturalPaid')} = goodsValue+freight+taxTotal-discount {ap}")
check(D(t(o,"acturalPaid")) < 5000, "acturalPaid < 5000")
check([t(l,"gnum") for l in ol] == ["1","2","3"], "order gnum 1..3")
check(t(o,"buyerIdType")=="1" and idok(t(o,"buyerIdNumber")), f"buyer ID {t(o,'buyerIdNumber')} check digit valid")
check(re.fullmatch(r"1[3-9]\d{9}", t(o,"buyerTelephone")), "buyerTelephone plausible mobile")
check(t(o,"consigneeDistrict")=="330106", "consigneeDistrict 330106")
# payment
for a,b in [("orderNo","orderNo"),("ebpCode","ebpCode"),("ebpName","ebpName"),("payCode","payCode"),("payName","payName"),("payTransactionId","payTransactionId"),("buyerIdType","payerIdType"),("buyerIdNumber","payerIdNumber"),("buyerName","payerName")]:
    check(t(o,a)==t(p,b), f"order.{a} == payment.{b} ({t(p,b)})")
check(D(t(p,"amountPaid"))==D(t(o,"acturalPaid")), "payment.amountPaid == order.acturalPaid")
check(re.fullmatch(r"\d{14}", t(p,"payTime")), "payTime 14 digits")
# waybill
for a in ["orderNo","consignee","consigneeAddress","consigneeTelephone"]:
    check(t(o,a)==t(w,a), f"order.{a} == waybill.{a}")
check(t(w,"logisticsCode")=="3301980D04" and t(w,"logisticsNo")=="YT2026112100001" and t(w,"packNo")=="1", "waybill logisticsCode/No, packNo 1")
# inventory
for a in ["orderNo","ebpCode","ebpName","ebcCode","ebcName"]:
    check(t(o,a)==t(i,a), f"order.{a} == inventory.{a}")
for a in ["logisticsCode","logisticsName","logisticsNo"]:
    check(t(w,a)==t(i,a), f"waybill.{a} == inventory.{a}")
for a in ["buyerName","buyerTelephone","buyerIdType","buyerIdNumber","consigneeAddress"]:
    check(t(o,a)==t(i,a), f"order.{a} == inventory.{a}")
check(D(t(o,"freight")) == D(t(i,"freight")) + D(t(i,"insuredFee")), f"order.freight {t(o,'freight')} = inv.freight {t(i,'freight')} + insuredFee {t(i,'insuredFee')}")
check(t(i,"packNo")==t(w,"packNo")=="1", "inventory.packNo == waybill.packNo == 1")
check(D(t(i,"grossWeight"))==D(t(w,"weight")), "inventory.grossWeight == waybill.weight")
kg = sum(D(t(l,"qty1")) for l in il if t(l,"unit1")=="035")
check(D(t(i,"grossWeight")) >= D(t(i,"netWeight")) >= kg, f"grossWeight {t(i,'grossWeight')} >= netWeight {t(i,'netWeight')} >= sum(qty1 kg) {kg}")
check(t(i,"ieFlag")=="I" and t(i,"customsCode")==t(i,"portCode")=="2991" and t(i,"tradeMode")=="9610" and t(i,"trafMode")=="5" and t(i,"appStatus")=="2", "ieFlag I, customs/port 2991, 9610, trafMode 5, appStatus 2")
check(re.fullmatch(r"\d{8}", t(i,"declTime")) and re.fullmatch(r"\d{8}", t(i,"ieDate")), "declTime/ieDate 8 digits")
check(len(ol)==len(il), "same number of lines")
for a,b in zip(ol, il):
    for f in ["gnum","itemNo","itemName","qty","unit","price","totalPrice","country","gmodel","barCode"]:
        check(t(a,f)==t(b,f), f"line {t(a,'gnum')}: {f} equal ({t(b,f)})")
    check(re.fullmatch(r"\d{10}", t(b,"gcode")) and t(b,"currency")=="142", f"line {t(b,'gnum')}: gcode 10 digits, currency 142")
    check(D(t(b,"price"))*D(t(b,"qty"))==D(t(b,"totalPrice")), f"inv line {t(b,'gnum')}: price*qty = totalPrice")
check(ET.parse(S+"set-ok/CEB621-inventory.xml").getroot().find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None, "CEB621 has ds:Signature")
# receipts keys
def rx(path, rec):
    return ET.parse(S+path).getroot().find(f"c:{rec}", NS)
r = rx("receipts/CEB312-order-receipt.xml","OrderReturn"); check(t(r,"orderNo")==t(o,"orderNo") and t(r,"ebpCode")==t(o,"ebpCode") and t(r,"ebcCode")==t(o,"ebcCode"), "CEB312 keys match order")
r = rx("receipts/CEB312-out-of-order.xml","OrderReturn"); check(t(r,"orderNo")==t(o,"orderNo") and t(r,"ebpCode")==t(o,"ebpCode"), "CEB312 out-of-order keys match order")
r = rx("receipts/CEB412-payment-receipt.xml","PaymentReturn"); check(t(r,"payCode")==t(p,"payCode") and t(r,"payTransactionId")==t(p,"payTransactionId"), "CEB412 keys match payment")
r = rx("receipts/CEB512-waybill-receipt.xml","LogisticsReturn"); check(t(r,"logisticsCode")==t(w,"logisticsCode") and t(r,"logisticsNo")==t(w,"logisticsNo"), "CEB512 keys match waybill")
for f,st in [("released","800"),("rejected","100")]:
    r = rx(f"receipts/CEB622-inventory-{f}.xml","InventoryReturn"); check(t(r,"copNo")==t(i,"copNo") and t(r,"returnStatus")==st and len(t(r,"preNo"))==18, f"CEB622 {f}: copNo matches, status {st}, preNo 18")
r = rx("receipts/CEB622-unknown-status.xml","InventoryReturn"); check(t(r,"copNo")==t(i,"copNo") and t(r,"returnStatus")=="600", "CEB622 unknown: status 600")
r = rx("receipts/CEB622-inventory-released.xml","InventoryReturn"); check(len(t(r,"invtNo"))==18, "CEB622 released invtNo 18")
for f in ["CEB312-order-receipt","CEB412-payment-receipt","CEB512-waybill-receipt","CEB622-inventory-released","CEB622-inventory-rejected","CEB622-unknown-status","CEB900-format-error","CEB312-out-of-order"]:
    raw = open(S+f"receipts/{f}.xml","rb").read()
    rt = re.findall(rb"<returnTime>(\d+)</returnTime>", raw)
    check(b'standalone="yes"' in raw and b'xmlns="http://www.chinaport.gov.cn/ceb"' in raw and b"ceb:" not in raw.split(b"CDATA")[0] and all(len(x)==17 for x in rt) and rt, f"{f}: default ns, standalone, returnTime 17")
# DxpMsg
d = ET.parse(S+"dxp/DxpMsg-CEB311.xml").getroot()
data = d.find("{http://www.chinaport.gov.cn/dxp}Data").text
check(base64.b64decode(data) == open(S+"set-ok/CEB311-order.xml","rb").read(), "DxpMsg Data == exact bytes of set-ok/CEB311-order.xml")
# GB2312
for f in ["declaration/DEC_RESULT-P-gb2312.xml","declaration/DEC_DATA-legacy-gb2312.xml"]:
    raw = open(S+f,"rb").read()
    try: raw.decode("utf-8"); u8=True
    except UnicodeDecodeError: u8=False
    txt = raw.decode("gb2312")
    check(raw.startswith(b'<?xml version="1.0" encoding="GB2312"?>') and not u8 and ("报关单已放行" in txt or "入库成功" in txt), f"{f}: declared and encoded GB2312 (not valid UTF-8)")
# bad idcard
bi = head("invalid/CEB621-bad-idcard.xml","InventoryHead")
check(not idok(t(bi,"buyerIdNumber")), f"invalid/CEB621-bad-idcard: {t(bi,'buyerIdNumber')} fails the check digit")
ba = head("invalid/CEB311-bad-apptime.xml","OrderHead")
import datetime
try: datetime.datetime.strptime(t(ba,"appTime"), "%Y%m%d%H%M%S"); bad=False
except ValueError: bad=True
check(bad, f"invalid/CEB311-bad-apptime: {t(ba,'appTime')} is not a real date-time")
lg = head("invalid/CEB311-legacy-2016.xml","OrderHead")
lgl = ET.parse(S+"invalid/CEB311-legacy-2016.xml").getroot().findall(".//c:OrderList", NS)
gv = sum(D(t(l,"totalPrice")) for l in lgl)
check(all(D(t(l,"price"))*D(t(l,"qty"))==D(t(l,"totalPrice")) for l in lgl) and gv==D(t(lg,"goodsValue")) and D(t(lg,"acturalPaid"))==gv+D(t(lg,"freight"))+D(t(lg,"taxTotal"))-D(t(lg,"discount")) and idok(t(lg,"buyerIdNumber")), "legacy-2016: sums and ID valid (only buyerTelephone/gmodel missing)")
print("ALL OK" if ok else "SOME FAILED")
