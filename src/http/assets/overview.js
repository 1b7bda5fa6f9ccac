const fmt=(x,d)=>x==null?"—":x.toLocaleString(undefined,{minimumFractionDigits:d,maximumFractionDigits:d});
async function refresh(){
  try{
    const r=await fetch('/api/v1/meters');const ms=await r.json();
    let online=0,total=0;
    for(const m of ms){
      const row=document.getElementById('m-'+m.id);if(!row)continue;
      if(m.status==='online')online++;
      const mult=parseFloat(m.multiplier)||1;
      const rate=m.values.power_kw!=null?m.values.power_kw*mult:m.values.flow_m3h;
      if(m.category==='01000'&&m.values.power_kw!=null)total+=m.values.power_kw*mult;
      const reg=m.values.energy_import_kwh??m.values.water_m3??m.values.gas_m3;
      row.querySelector('.rate').textContent=fmt(rate,2);
      row.querySelector('.reg').textContent=fmt(reg,2);
      const st=row.querySelector('.st');st.textContent=STATUS[m.status]||m.status;st.className='st '+CLS[m.status];
      st.title=m.status_detail||'';
      const seen=m.last_seen?new Date(m.last_seen):null;
      row.querySelector('.seen').textContent=!seen?'—':(Date.now()-seen<86400000?seen.toLocaleTimeString('zh-CN',{timeZone:TZ,hour12:false}):seen.toLocaleString('zh-CN',{timeZone:TZ,hour12:false}));
    }
    document.getElementById('online').textContent=online;
    document.getElementById('power').textContent=fmt(total,1);
  }catch(e){}
}
setInterval(refresh,5000);
