async function post(url,body){
 const r=await fetch(url,{method:'POST',headers:{'content-type':'application/json','x-csrf-token':CSRF},body:JSON.stringify(body)});
 if(r.ok){
  // Statements resting on a meter that read nothing are not issued: say which, and why.
  // A statement resting on a meter that read nothing, or held for review, is not issued:
  // say which, and why.
  const held=((await r.json().catch(()=>({}))).issued||[]).filter(i=>i.outcome==='no_data'||i.outcome==='needs_review');
  if(!held.length){location.reload();return;}
  const out=document.getElementById('b-out');out.className='bad';
  out.textContent=held.map(i=>i.number+' '+(i.outcome==='no_data'?NO_DATA+' '+i.no_data.join(', '):HELD+' '+i.holds.map(h=>h.reason).join('; '))).join(' | ');return;
 }
 const out=document.getElementById('b-out');out.className='bad';out.textContent=(await r.json().catch(()=>({}))).error||r.status;
}
function issue(tenant){if(confirm(CONFIRM_ISSUE))post('/api/v1/billing/'+MONTH+'/issue',{tenant});}
function pay(statement,outstanding){
 const amount=prompt(AMOUNT,outstanding);if(!amount)return;
 const paid_on=prompt(PAID_ON,TODAY);if(!paid_on)return;
 const method=prompt(METHOD,'')||'';const reference=prompt(REF,'')||'';
 post('/api/v1/billing/payments',{statement,amount,paid_on,method,reference});
}
function accept(tenant){const reason=prompt(REASON,'');if(reason&&reason.trim())post('/api/v1/billing/'+MONTH+'/accept',{tenant,reason});}
